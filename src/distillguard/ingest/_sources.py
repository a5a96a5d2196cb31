"""Turn the user's INPUT arguments (files, directories, globs, event dirs) into files.

Each file gets a *container* (how its bytes are laid out: ``parquet``, ``jsonl``,
``csv`` or ``otel``) from its extension, unless ``--format`` forces one. Presets
(``litellm``, a mapping file) change how columns are read, not the container.

A table directory is one input, never a set of loose files: a directory holding
``_delta_log/`` is a Delta Lake table (container ``delta``), one holding
``metadata/*.metadata.json`` (or a ``*.metadata.json`` file) an Iceberg table (``iceberg``).
Their data files include removed and older versions, which only the table's log names
correctly, so a walk that meets one takes the table and does not descend into it.
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass
from pathlib import Path

from distillguard.errors import DistillguardError, UnreadableInputError

FORMATS: tuple[str, ...] = ("auto", "parquet", "jsonl", "csv", "otel", "delta", "iceberg", "litellm")
CONTAINERS: tuple[str, ...] = ("parquet", "jsonl", "csv", "otel", "delta", "iceberg")
#: Containers read as typed Arrow data (extra columns keep their types).
TABLE_CONTAINERS: tuple[str, ...] = ("delta", "iceberg")
ARROW_CONTAINERS: tuple[str, ...] = ("parquet", *TABLE_CONTAINERS)
ICEBERG_METADATA_SUFFIX = ".metadata.json"

_EXTENSIONS: dict[str, tuple[str, str]] = {
    # suffix -> (container, csv delimiter)
    ".parquet": ("parquet", ","),
    ".pq": ("parquet", ","),
    ".jsonl": ("jsonl", ","),
    ".ndjson": ("jsonl", ","),
    ".json": ("jsonl", ","),
    ".csv": ("csv", ","),
    ".tsv": ("csv", "\t"),
}
_GLOB_CHARS = set("*?[")


@dataclass(frozen=True)
class SourceFile:
    """One input file and how to read it."""

    path: Path
    container: str
    gzip: bool = False
    delimiter: str = ","

    @property
    def name(self) -> str:
        return str(self.path)


def is_event_dir(path: str | os.PathLike[str]) -> bool:
    """True if ``path`` is an event directory (``events/day=*/`` written by ingest/simulate)."""
    root = Path(path)
    events = root / "events"
    if not events.is_dir():
        return False
    if (root / "ingest_summary.json").is_file() or (root / "manifest.json").is_file():
        return True
    return any(p.is_dir() and p.name.startswith("day=") for p in events.iterdir())


def table_kind(path: Path) -> str | None:
    """``delta`` or ``iceberg`` when ``path`` is such a table (its directory, or an Iceberg metadata file)."""
    if path.is_file():
        return "iceberg" if path.name.lower().endswith(ICEBERG_METADATA_SUFFIX) else None
    if not path.is_dir():
        return None
    if (path / "_delta_log").is_dir():
        return "delta"
    metadata = path / "metadata"
    if metadata.is_dir() and (
        (metadata / "version-hint.text").is_file() or any(metadata.glob("*" + ICEBERG_METADATA_SUFFIX))
    ):
        return "iceberg"
    return None


def _split_suffix(path: Path) -> tuple[str, bool]:
    """The meaningful suffix of ``path`` (``.jsonl`` for ``x.jsonl.gz``) and gzip-ness."""
    suffixes = [s.lower() for s in path.suffixes]
    gz = bool(suffixes) and suffixes[-1] == ".gz"
    if gz:
        suffixes = suffixes[:-1]
    return (suffixes[-1] if suffixes else ""), gz


def classify(path: Path, fmt: str, *, explicit: bool) -> SourceFile | None:
    """How to read ``path`` under ``fmt``; None when a directory walk should skip it."""
    if fmt in TABLE_CONTAINERS:
        return SourceFile(path, fmt)
    suffix, gz = _split_suffix(path)
    container, delimiter = _EXTENSIONS.get(suffix, ("", ","))
    if fmt == "auto" and path.name.lower().endswith(ICEBERG_METADATA_SUFFIX):
        return SourceFile(path, "iceberg")
    if fmt == "otel":
        # OTLP/JSON exports: JSON lines or one JSON document, either way a JSON suffix.
        return SourceFile(path, "otel", gz) if explicit or container == "jsonl" else None
    if fmt in ("parquet", "jsonl", "csv"):
        return SourceFile(path, fmt, gz, delimiter)
    if container:
        return SourceFile(path, container, gz, delimiter)
    if explicit:
        raise DistillguardError(
            f"cannot tell the format of {path} from its name; "
            "pass --format parquet|jsonl|csv|otel|delta|iceberg"
        )
    return None


def _walk(directory: Path) -> list[Path | SourceFile]:
    """Files under ``directory``, and as one :class:`SourceFile` each table met on the way."""
    found: list[Path | SourceFile] = []
    for root, dirs, names in os.walk(directory):
        here = Path(root)
        kind = table_kind(here)
        if kind is not None:
            found.append(SourceFile(here, kind))
            dirs[:] = []
            continue
        dirs[:] = sorted(d for d in dirs if not d.startswith((".", "_")))
        found.extend(here / n for n in sorted(names) if not n.startswith((".", "_")))
    return found


def _event_dir_files(root: Path) -> list[SourceFile]:
    return [SourceFile(p, "parquet") for p in sorted((root / "events").rglob("*.parquet"))]


def expand_inputs(
    inputs: list[str | os.PathLike[str]], fmt: str = "auto"
) -> tuple[list[SourceFile], list[str]]:
    """Resolve every input to files; returns ``(files, skipped)`` (skipped: unknown types in dirs)."""
    if fmt not in FORMATS:
        raise DistillguardError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if not inputs:
        raise DistillguardError("no input given")
    files: list[SourceFile] = []
    skipped: list[str] = []

    def add_path(path: Path, *, explicit: bool) -> None:
        if path.is_dir():
            if fmt in TABLE_CONTAINERS:
                files.append(SourceFile(path, fmt))
                return
            if is_event_dir(path):
                files.extend(_event_dir_files(path))
                return
            for child in _walk(path):
                if isinstance(child, SourceFile):
                    files.append(child)
                    continue
                sf = classify(child, fmt, explicit=False)
                if sf is None:
                    skipped.append(str(child))
                else:
                    files.append(sf)
            return
        if not path.exists():
            raise UnreadableInputError(path, "no such file or directory")
        sf = classify(path, fmt, explicit=explicit)
        if sf is not None:
            files.append(sf)

    for raw in inputs:
        text = os.fspath(raw)
        path = Path(text)
        if not path.exists() and _GLOB_CHARS & set(text):
            matches = sorted(glob.glob(text, recursive=True))
            if not matches:
                raise DistillguardError(f"no input matches {text}")
            for match in matches:
                add_path(Path(match), explicit=False)
            continue
        add_path(path, explicit=True)
    seen: set[Path] = set()
    unique = []
    for sf in files:
        key = sf.path.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(sf)
    if not unique:
        raise DistillguardError(f"no readable input files found in {', '.join(map(str, inputs))}")
    return unique, skipped
