"""``evaluate()``: score one scan output against ground-truth labels, next to a baseline.

Reads the scan output contract (``accounts.parquet``) and the labels, optionally the
events for time to detection and the volume baseline, and writes the result as JSON and
Markdown. Every number in the report is computed here from those inputs; nothing is
looked up from the scan's own claims.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from distillguard.errors import DistillguardError
from distillguard.evaluate._accounts import account_metrics
from distillguard.evaluate._baseline import BaselineConfig, run_baseline, volumes_from_events
from distillguard.evaluate._campaigns import campaign_metrics
from distillguard.evaluate._inputs import NOT_FLAGGED, Joined, event_source, join, read_accounts, read_labels
from distillguard.evaluate._timing import EARLY_SHARE, campaign_first_flags, connect, time_to_detection

#: Verdict that counts as a positive prediction; ``suspicious`` is reported apart.
POSITIVE_VERDICT = "attack"
REVIEW_VERDICT = "suspicious"


def _members(j: Joined) -> pa.Table:
    has = j.is_attack & np.not_equal(j.campaign, None)
    return pa.table(
        {
            "account_id": pa.array(j.account_id[has].tolist(), pa.string()),
            "campaign": pa.array(j.campaign[has].tolist(), pa.string()),
        }
    )


def _ttd(
    con: Any,
    files: list[str] | None,
    j: Joined,
    flagged: np.ndarray,
    flagged_at_us: np.ndarray,
    why_not: str | None,
) -> dict[str, Any]:
    if why_not is not None or files is None:
        return {"available": False, "why": why_not or "no events: pass --events DIR"}
    firsts = campaign_first_flags(j.campaign, flagged & j.is_attack, flagged_at_us, NOT_FLAGGED)
    result = time_to_detection(con, files, _members(j), firsts, early_share=EARLY_SHARE)
    return {"available": True, **result}


def evaluate(
    labels: Path | str,
    scan_dir: Path | str,
    *,
    events: Path | str | None = None,
    out: Path | str | None = None,
    baseline: BaselineConfig | None = None,
) -> dict[str, Any]:
    """Score ``scan_dir`` against ``labels``; write ``out`` (.json) and its ``.md`` twin.

    ``events`` is an event directory (or its ``events/`` folder); without it the
    ``events/`` next to the labels file is used when present. ``out`` defaults to
    ``scan_dir/evaluation.json``. Returns the report as a dict (the JSON's content).
    """
    from distillguard import __version__
    from distillguard.evaluate._render import to_markdown

    labels_path, scan_path = Path(labels), Path(scan_dir)
    config = baseline or BaselineConfig()
    json_path = Path(out) if out is not None else scan_path / "evaluation.json"
    if json_path.suffix.lower() != ".json":
        raise DistillguardError(f"--out must name a .json file, got {json_path.name}")
    label_table = read_labels(labels_path)
    accounts = read_accounts(scan_path)
    source_events = event_source(Path(events) if events is not None else None, labels_path)
    files = source_events.files if source_events is not None else None
    j = join(label_table, accounts)

    predicted = j.verdict == POSITIVE_VERDICT
    suspicious = j.verdict == REVIEW_VERDICT
    detector: dict[str, Any] = {
        "accounts": account_metrics(j.is_attack, j.persona, predicted, j.score, suspicious),
        "campaigns": campaign_metrics(j.is_attack, j.campaign, predicted, j.campaign_id),
    }
    con = connect() if files is not None else None
    try:
        events_total = None
        volume, source = None, None
        if files is not None:
            volume, events_total = volumes_from_events(con, files, j.account_id)
            source = "events"
        elif j.exchanges is not None:
            volume, source = j.exchanges, "scan exchanges (no events given)"
        why_not = None if j.has_flagged_at else "accounts.parquet has no flagged_at column"
        detector["time_to_detection"] = _ttd(con, files, j, predicted, j.flagged_at_us, why_not)
        base: dict[str, Any]
        if volume is None:
            base = {"available": False, "why": "no per-account volume: pass --events DIR"}
        else:
            b = run_baseline(con, files, j.account_id, j.is_attack, volume, source, NOT_FLAGGED, config)
            base = {
                "available": True,
                "rule": b.rule,
                "threshold": b.threshold,
                "quantile": config.quantile,
                "volume_source": b.source,
                "accounts": account_metrics(j.is_attack, j.persona, b.flagged, b.volume),
                "campaigns": campaign_metrics(j.is_attack, j.campaign, b.flagged, None),
                "time_to_detection": _ttd(con, files, j, b.flagged, b.flagged_at_us, None),
            }
    finally:
        if con is not None:
            con.disconnect()

    report: dict[str, Any] = {
        "distillguard_version": __version__,
        "inputs": {
            "labels": str(labels_path),
            "scan": str(scan_path),
            "events": source_events.path if source_events is not None else None,
            "events_total": events_total,
        },
        "coverage": {
            "labelled_accounts": j.n,
            "scan_accounts": accounts.num_rows,
            "missing_from_scan": j.missing_from_scan,
            "missing_treated_as": "score 0, verdict clear",
            "unlabeled_in_scan": j.unlabeled_in_scan,
        },
        "detector": detector,
        "baseline": base,
    }
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(report, indent=2, sort_keys=False) + "\n")
    json_path.with_suffix(".md").write_text(to_markdown(report))
    report["outputs"] = {"json": str(json_path), "markdown": str(json_path.with_suffix(".md"))}
    return report
