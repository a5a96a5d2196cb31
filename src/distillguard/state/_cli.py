"""``distillguard scan --state DIR``: the increment behind the scan command's options.

Kept apart from ``_scan_cli`` so the batch command stays import-light and this module owns
what the continuous mode prints: the increment's counts, its watermark, and the verdicts.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from distillguard.errors import DistillguardError


def parse_time(value: str | None, option: str) -> dt.datetime | None:
    """An ISO 8601 time (``Z`` or an offset; naive = UTC) or a one-line usage error."""
    if value is None:
        return None
    try:
        t = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise DistillguardError(f"{option} {value!r} is not an ISO 8601 time") from None
    return t if t.tzinfo else t.replace(tzinfo=dt.UTC)


def check_incompatible(**given: Any) -> None:
    """Batch-only options make no sense with ``--state``: say which, before any work."""
    bad = [name for name, value in given.items() if value]
    if bad:
        raise DistillguardError(f"{', '.join(bad)} cannot be combined with --state")


def run_state_scan(
    state: Path,
    inputs: list[Path],
    out: Path | None,
    *,
    allowed_lateness_h: float | None,
    replay_from: str | None,
    overwrite: bool,
    confirm_increments: int | None = None,
    scan_options: dict[str, Any],
) -> tuple[Any, dict[str, Any]]:
    """Run one increment; returns (the scan result, the summary the CLI prints or emits)."""
    from distillguard.state import StateParams, run_increment

    given = {"allowed_lateness_h": allowed_lateness_h, "confirm_increments": confirm_increments}
    params = StateParams(**{k: v for k, v in given.items() if v is not None})
    if params.allowed_lateness_h < 0:
        raise DistillguardError("--allowed-lateness must be >= 0 hours")
    if params.confirm_increments < 1:
        raise DistillguardError("--confirm-increments must be >= 1")
    res = run_increment(
        state,
        inputs,
        out,
        params=params,
        scan_options=scan_options,
        replay_from=parse_time(replay_from, "--replay-from"),
        overwrite=overwrite,
    )
    summary = res.summary()
    summary["out"] = str(out) if out is not None else str(state / "scan")
    return res.scan, summary


def print_increment(summary: dict[str, Any], console: Any) -> None:
    from rich.table import Table

    table = Table(title=f"increment {summary['increment']} -> {summary['out']}")
    cols = ("new", "late merged", "too late", "duplicates", "quarantined", "watermark")
    for c in cols:
        table.add_column(c, justify="right")
    table.add_row(
        *(
            str(summary.get(k, 0))
            for k in ("events_new", "events_late", "too_late", "duplicates", "quarantined")
        ),
        str(summary.get("watermark")),
    )
    console.print(table)
    v = summary.get("verdicts") or {}
    console.print(
        f"attack {v.get('attack', 0)}, suspicious {v.get('suspicious', 0)}, clear {v.get('clear', 0)};"
        f" campaigns {summary.get('campaigns')}; scored increments {summary.get('scored_increments')}"
    )
    for line in summary.get("recovered") or []:
        console.print(f"recovered: {line}")
