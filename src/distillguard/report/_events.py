"""Where a scan's events are, asked of ``distillguard.ingest`` (the one place that knows the layout).

Report timelines and evaluation both read the event directory a scan came from. Both
accept the directory ingest or simulate wrote, or its ``events/`` folder, and both
turn anything else (a path that is not there, raw logs that were never ingested) into
a one-line user error here, so the message is the same wherever it is met.
"""

from __future__ import annotations

from pathlib import Path

from distillguard.errors import DistillguardError


def resolve_event_dir(path: Path | str) -> Path:
    """The event directory at ``path`` (itself, or the parent of its ``events/`` folder)."""
    from distillguard.ingest import is_event_dir

    root = Path(path)
    if root.name == "events" and not is_event_dir(root) and is_event_dir(root.parent):
        root = root.parent
    if not root.exists():
        raise DistillguardError(f"events directory not found: {path}")
    if not is_event_dir(root):
        raise DistillguardError(
            f"{path} is not an event directory (events/day=*/ from ingest or simulate); "
            "raw logs: run `distillguard ingest` on them first"
        )
    return root


def event_files(events: Path | str | list[Path | str]) -> list[str]:
    """Parquet part files of one or more event directories, as ``ingest.open_events`` lists them."""
    from distillguard.ingest import open_events

    out: list[str] = []
    for item in events if isinstance(events, list | tuple) else [events]:
        files = open_events(resolve_event_dir(item)).files
        if not files:
            raise DistillguardError(f"{item} holds no event Parquet files")
        out.extend(files)
    return out
