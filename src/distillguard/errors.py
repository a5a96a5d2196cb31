"""User-facing errors: one line, exit status 2, never a traceback."""

from __future__ import annotations


class DistillguardError(Exception):
    """A user mistake or unreadable input; the CLI prints ``str(err)`` and exits 2."""

    exit_code = 2


class UnreadableInputError(DistillguardError):
    """A file that cannot be read at all (spec: stops the run, names the file)."""

    def __init__(self, path: object, why: str) -> None:
        super().__init__(f"cannot read {path}: {why}")
        self.path = str(path)
        self.why = why
