"""Conventions every command shares: ``--quiet``/``--verbose``/``--json`` and ``--out`` checks.

stdout carries the result (a human summary, or with ``--json`` nothing but one JSON document);
progress, notes, warnings and errors go to stderr. Output paths are checked before any work
starts, so a wrong ``--out`` costs one line and exit 2, never a finished-then-lost run.
Import-light on purpose: Rich loads only when something is printed.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from distillguard.errors import DistillguardError

QuietOpt = Annotated[
    bool, typer.Option("--quiet", "-q", help="No progress and no summary; warnings and errors still shown.")
]
VerboseOpt = Annotated[
    bool, typer.Option("--verbose", "-v", help="Progress as plain timestamped lines on stderr, and notes.")
]
JsonOpt = Annotated[
    bool, typer.Option("--json", help="Print a machine-readable JSON summary on stdout (nothing else there).")
]
OverwriteOpt = Annotated[
    bool,
    typer.Option("--overwrite", help="Replace previous output at --out (or write into a non-empty one)."),
]


@dataclass(frozen=True)
class Output:
    """Where a command's words go, from its ``--quiet``/``--verbose``/``--json`` flags."""

    quiet: bool = False
    verbose: bool = False
    json: bool = False

    @classmethod
    def of(cls, quiet: bool = False, verbose: bool = False, json: bool = False) -> Output:
        """Validate the combination (a usage error) and apply ``--verbose`` to progress."""
        if quiet and verbose:
            raise typer.BadParameter("--quiet and --verbose exclude each other", param_hint="'--quiet'")
        from distillguard._progress import use_log_lines

        use_log_lines(verbose)
        return cls(quiet, verbose, json)

    @property
    def progress(self) -> bool:
        """Show progress (on stderr) unless ``--quiet``."""
        return not self.quiet

    @property
    def human(self) -> bool:
        """Print the human summary on stdout: neither ``--quiet`` nor ``--json``."""
        return not (self.quiet or self.json)

    def console(self) -> Any:
        """Rich console on stdout for the human summary."""
        from rich.console import Console

        return Console()

    def note(self, message: str) -> None:
        """An informational line on stderr (dropped with ``--quiet``)."""
        if not self.quiet:
            print(message, file=sys.stderr, flush=True)

    def detail(self, message: str) -> None:
        """A line on stderr only with ``--verbose``."""
        if self.verbose:
            print(message, file=sys.stderr, flush=True)

    def warn(self, message: str) -> None:
        """A warning line on stderr, shown even with ``--quiet``."""
        print(f"warning: {message}", file=sys.stderr, flush=True)

    def emit(self, summary: dict[str, Any]) -> None:
        """With ``--json``, the summary as one JSON document on stdout."""
        if self.json:
            print(json.dumps(summary, indent=2, sort_keys=True, default=str), flush=True)


def _file_ancestor(path: Path) -> Path | None:
    """The first existing ancestor of ``path`` that is a file (``a/b`` with ``a`` a file)."""
    for parent in path.parents:
        if parent.exists():
            return parent if not parent.is_dir() else None
    return None


def check_out_dir(out: Path, *, marker: str, what: str, overwrite: bool) -> bool:
    """Refuse an unusable output directory before any work; True when it holds a previous ``what``.

    A file is never replaced by a directory. A non-empty directory is written into only with
    ``overwrite``; ``marker`` is the file that identifies a previous ``what`` output there.
    """
    blocker = out if out.exists() and not out.is_dir() else _file_ancestor(out)
    if blocker is not None:
        raise DistillguardError(f"--out {out}: {blocker} is a file, not a directory")
    if not out.is_dir() or not any(out.iterdir()):
        return False
    previous = (out / marker).is_file()
    if overwrite:
        return previous
    if previous:
        raise DistillguardError(f"--out {out} holds a previous {what}; use --overwrite to replace it")
    raise DistillguardError(
        f"--out {out} is not empty and holds no previous {what}; "
        "choose a new directory or use --overwrite to write into it"
    )


def check_out_file(out: Path, *, overwrite: bool, option: str = "--out") -> None:
    """Refuse an output file that is a directory, sits under a file, or exists without ``overwrite``."""
    if out.is_dir():
        raise DistillguardError(f"{option} {out} is a directory; name a file")
    blocker = _file_ancestor(out)
    if blocker is not None:
        raise DistillguardError(f"{option} {out}: {blocker} is a file, not a directory")
    if out.exists() and not overwrite:
        raise DistillguardError(f"{option} {out} exists; use --overwrite to replace it")
