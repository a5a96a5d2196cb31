"""Column mappings: how a source's columns become event-schema columns, written as data.

A mapping file (YAML or TOML) lets any log source be ingested without code::

    format: csv                 # optional container: auto|parquet|jsonl|csv|otel|delta|iceberg
    preset: litellm             # optional: start from the otel or litellm preset
    delimiter: ";"              # optional, CSV only
    columns:                    # schema column (or new extra column) <- source column(s)
      event_id: req_id
      account_id: [org_id, team_id]   # a list: the first non-null value wins
      input_tokens: usage.prompt_tokens  # nested JSON objects become dotted names
    timestamp:                  # how `timestamp` and `account_created_at` are read
      unit: s                   # epoch numbers: s|ms|us|ns (default ms, as the spec says)
      format: "%d/%m/%Y %H:%M:%S"   # strptime format for text (default RFC 3339)
      origin: "2024-01-01T00:00:00Z"  # numbers are offsets from this instant
    constants: {provider: acme} # every row gets this value (overrides the source)
    defaults: {status: ok}      # fills nulls after typing
    keep_unmapped: true         # keep other source columns as extra columns
    drop: [api_secret]          # never keep these source columns
    account_from: team          # litellm preset only: auto|organization|team|api_key|user

Schema columns the mapping does not mention are taken from same-named source
columns. Unknown keys are errors, so a typo never silently does nothing.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from distillguard.errors import DistillguardError
from distillguard.ingest._convert import as_plain, to_string
from distillguard.ingest._sources import CONTAINERS
from distillguard.schema import EVENT_COLUMNS

TIME_UNITS = ("s", "ms", "us", "ns")
PRESETS = ("otel", "litellm")
ACCOUNT_SOURCES = ("auto", "organization", "team", "api_key", "user")
_KEYS = {
    "format",
    "preset",
    "delimiter",
    "columns",
    "timestamp",
    "constants",
    "defaults",
    "keep_unmapped",
    "drop",
    "account_from",
}
_TIMESTAMP_KEYS = {"unit", "format", "origin"}


@dataclass(frozen=True)
class Mapping:
    """Source -> schema column mapping plus how to read timestamps (see module doc)."""

    columns: dict[str, tuple[str, ...]] = field(default_factory=dict)
    timestamp_unit: str = "ms"
    timestamp_format: str | None = None
    timestamp_origin_us: int | None = None
    constants: dict[str, Any] = field(default_factory=dict)
    defaults: dict[str, Any] = field(default_factory=dict)
    keep_unmapped: bool = True
    drop: tuple[str, ...] = ()
    format: str | None = None
    preset: str | None = None
    delimiter: str | None = None
    account_from: str | None = None
    #: Which fields the user set explicitly (they win over a preset's).
    explicit: frozenset[str] = frozenset()

    def over(self, base: Mapping) -> Mapping:
        """This mapping layered over ``base`` (a preset): explicit settings win."""
        merged = replace(
            base,
            columns={**base.columns, **self.columns},
            constants={**base.constants, **self.constants},
            defaults={**base.defaults, **self.defaults},
            drop=tuple(dict.fromkeys(base.drop + self.drop)),
        )
        for name in self.explicit - {"columns", "constants", "defaults", "drop"}:
            merged = replace(merged, **{name: getattr(self, name)})
        return merged


def _parse_origin(value: Any) -> int:
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            raise DistillguardError(f"mapping: timestamp.origin {value!r} is not an ISO 8601 time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def mapping_from_dict(data: Any, *, where: str = "mapping") -> Mapping:
    """Validate a parsed mapping document; every mistake is a one-line DistillguardError."""
    if not isinstance(data, dict):
        raise DistillguardError(f"{where}: expected a table of settings at the top level")
    unknown = set(data) - _KEYS
    if unknown:
        raise DistillguardError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    kwargs: dict[str, Any] = {}
    columns: dict[str, tuple[str, ...]] = {}
    for target, sources in (data.get("columns") or {}).items():
        if isinstance(sources, str):
            sources = [sources]
        if not isinstance(sources, list) or not sources or not all(isinstance(s, str) for s in sources):
            raise DistillguardError(f"{where}: columns.{target} must be a column name or a list of names")
        columns[str(target)] = tuple(sources)
    if "columns" in data and not isinstance(data["columns"], dict | None):
        raise DistillguardError(f"{where}: columns must be a table of schema column -> source column")
    kwargs["columns"] = columns
    ts = data.get("timestamp") or {}
    if not isinstance(ts, dict) or set(ts) - _TIMESTAMP_KEYS:
        raise DistillguardError(f"{where}: timestamp takes only {', '.join(sorted(_TIMESTAMP_KEYS))}")
    if "unit" in ts:
        if ts["unit"] not in TIME_UNITS:
            raise DistillguardError(f"{where}: timestamp.unit must be one of {', '.join(TIME_UNITS)}")
        kwargs["timestamp_unit"] = ts["unit"]
    if "format" in ts:
        kwargs["timestamp_format"] = str(ts["format"])
    if "origin" in ts:
        kwargs["timestamp_origin_us"] = _parse_origin(ts["origin"])
    for key in ("constants", "defaults"):
        value = data.get(key) or {}
        if not isinstance(value, dict):
            raise DistillguardError(f"{where}: {key} must be a table of column -> value")
        kwargs[key] = dict(value)
    if "keep_unmapped" in data:
        if not isinstance(data["keep_unmapped"], bool):
            raise DistillguardError(f"{where}: keep_unmapped must be true or false")
        kwargs["keep_unmapped"] = data["keep_unmapped"]
    drop = data.get("drop") or []
    if not isinstance(drop, list) or not all(isinstance(d, str) for d in drop):
        raise DistillguardError(f"{where}: drop must be a list of column names")
    kwargs["drop"] = tuple(drop)
    if "format" in data:
        if data["format"] not in ("auto", *CONTAINERS):
            raise DistillguardError(f"{where}: format must be auto, {', '.join(CONTAINERS)}")
        kwargs["format"] = data["format"]
    if "preset" in data:
        if data["preset"] not in PRESETS:
            raise DistillguardError(f"{where}: preset must be one of {', '.join(PRESETS)}")
        kwargs["preset"] = data["preset"]
    if "delimiter" in data:
        if not isinstance(data["delimiter"], str) or len(data["delimiter"]) != 1:
            raise DistillguardError(f"{where}: delimiter must be one character")
        kwargs["delimiter"] = data["delimiter"]
    if "account_from" in data:
        if data["account_from"] not in ACCOUNT_SOURCES:
            raise DistillguardError(f"{where}: account_from must be one of {', '.join(ACCOUNT_SOURCES)}")
        kwargs["account_from"] = data["account_from"]
    explicit = frozenset(k for k in kwargs if k not in ("columns", "constants", "defaults", "drop"))
    return Mapping(**kwargs, explicit=explicit)


def load_mapping(path: str | os.PathLike[str]) -> Mapping:
    """Read a YAML (``.yaml``/``.yml``) or TOML (``.toml``) mapping file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise DistillguardError(f"cannot read mapping {p}: {err.strerror or err}") from None
    if p.suffix.lower() == ".toml":
        import tomllib

        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as err:
            raise DistillguardError(f"mapping {p}: invalid TOML ({err})") from None
    else:
        import yaml

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as err:
            first = str(err).splitlines()[0] if str(err) else "parse error"
            raise DistillguardError(f"mapping {p}: invalid YAML ({first})") from None
    return mapping_from_dict(data, where=f"mapping {p}")


def _coalesce(arrays: list[pa.Array]) -> pa.Array:
    arrays = [as_plain(a) for a in arrays]
    if len({a.type for a in arrays}) > 1:
        arrays = [to_string(a)[0] for a in arrays]
    return arrays[0] if len(arrays) == 1 else pc.coalesce(*arrays)


def apply_mapping(table: pa.Table, mapping: Mapping) -> pa.Table:
    """Rename/coalesce source columns into schema (and extra) columns; constants applied.

    Unmapped source columns are kept as extras when ``keep_unmapped``; one whose name
    is a schema column filled from elsewhere is kept as ``<name>_source``.
    """
    n = table.num_rows
    names = set(table.column_names)
    out: dict[str, pa.Array] = {}
    used: set[str] = set()
    for target, sources in mapping.columns.items():
        present = [s for s in sources if s in names]
        if present:
            out[target] = _coalesce([table.column(s) for s in present])
            used.update(present)
    for name in table.column_names:
        if name in EVENT_COLUMNS and name not in out and name not in used and name not in mapping.drop:
            out[name] = as_plain(table.column(name))
            used.add(name)
    if mapping.keep_unmapped:
        for name in table.column_names:
            if name in used or name in mapping.drop:
                continue
            target = name if name not in out else f"{name}_source"
            if target not in out:
                out[target] = as_plain(table.column(name))
    for name, value in mapping.constants.items():
        out[name] = pa.array([value] * n) if n else pa.array([], pa.string())
    return pa.table(out)
