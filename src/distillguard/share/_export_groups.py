"""Which local accounts an export speaks about, grouped, each group with a confidence.

Two levels of groups of accounts (the ``level`` of every exported campaign and indicator;
the third level, ``family``, groups frames rather than accounts: ``share._export_family``):

* ``campaign``: a campaign the scan found (``campaigns.json``); confidence = its score.
* ``suspicious``: one pooled group of weak, unconfirmed evidence: accounts the scan
  rated ``suspicious`` (or ``attack`` outside every campaign), plus accounts carrying a
  cross-account template signal (a template family shared by unrelated local accounts)
  even when their own score is low. No provider can act on this alone; when several
  independent partners' weak indicators converge on the same keyed values, the pooled
  evidence is strong (``share.intel``). Its confidence is the group's median score,
  capped at ``ExportParams.weak_max_confidence``, so partners can tell it apart.

STIX confidence is 0-100; 70 and above reads "high" on the STIX 2.1 confidence scales
(Appendix A), which is where campaign-level intel sits.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from distillguard.errors import DistillguardError
from distillguard.share._scan_dir import read_campaigns

if TYPE_CHECKING:
    from distillguard.share._export import ExportParams

#: Export levels; ``family`` (harvest wrappers concentrated among flagged accounts) is built
#: in ``share._export_family``.
LEVELS: tuple[str, ...] = ("campaign", "suspicious", "family")
#: Local id of the pooled weak group (never leaves: only a keyed reference does).
WEAK_GROUP_ID = "dg:suspicious"
MEMBERS_SCHEMA = pa.schema(
    [("campaign_id", pa.string()), ("account_id", pa.string()), ("level", pa.string())]
)


def confidence(score: float, cap: int = 100) -> int:
    """STIX confidence (1..cap) of a score in [0, 1]."""
    return int(min(cap, max(1, round(100 * float(score)))))


def _read(path: Path, columns: list[str]) -> pa.Table | None:
    if not path.is_file():
        return None
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except Exception as err:  # corrupt parquet
        raise DistillguardError(f"cannot read {path}: {str(err).splitlines()[0]}") from None
    missing = [c for c in columns if c not in table.column_names]
    if missing:
        raise DistillguardError(f"{path} lacks column(s) {', '.join(missing)}")
    return table


def weak_group(scan: Path, in_campaigns: set[str], params: ExportParams) -> dict[str, Any] | None:
    """The pooled ``suspicious`` group of a scan, or None when it has no account."""
    acc = _read(scan / "accounts.parquet", ["account_id", "verdict", "score"])
    if acc is None:
        return None
    flagged = pc.is_in(acc["verdict"], pa.array(["suspicious", "attack"]))
    sig = _read(scan / "signals.parquet", ["account_id", "signal", "strength"])
    if sig is not None and params.weak_signals:
        fired = sig.filter(
            pc.and_(
                pc.is_in(sig["signal"], pa.array(list(params.weak_signals))), pc.greater(sig["strength"], 0)
            )
        )
        flagged = pc.or_(flagged, pc.is_in(acc["account_id"], fired["account_id"]))
    outside = pc.invert(pc.is_in(acc["account_id"], pa.array(sorted(in_campaigns), pa.string())))
    weak = acc.filter(pc.and_(flagged, outside))
    if not len(weak):
        return None
    now = datetime.now(UTC)
    first = pc.min(weak["first_seen"]).as_py() if "first_seen" in weak.column_names else None
    last = pc.max(weak["last_seen"]).as_py() if "last_seen" in weak.column_names else None
    score = float(np.median(weak["score"].to_numpy(zero_copy_only=False)))
    exchanges = pc.sum(weak["exchanges"]).as_py() if "exchanges" in weak.column_names else 0
    return {
        "campaign_id": WEAK_GROUP_ID,
        "level": "suspicious",
        "accounts": sorted(weak["account_id"].to_pylist()),
        "score": score,
        "confidence": confidence(score, params.weak_max_confidence),
        "exchanges": int(exchanges or 0),
        "first_seen": first or now,
        "last_seen": last or now,
        "capabilities": [],
    }


def export_groups(scan: Path, params: ExportParams) -> tuple[list[dict[str, Any]], pa.Table]:
    """Campaign groups (+ the weak group when enabled) and the member table they share."""
    groups = [
        {**c, "level": "campaign", "confidence": confidence(c["score"])}
        for c in read_campaigns(scan)
        if c["score"] >= params.min_campaign_score
    ]
    if params.share_suspicious:
        weak = weak_group(scan, {a for c in groups for a in c["accounts"]}, params)
        if weak is not None:
            groups.append(weak)
    members = pa.table(
        {
            "campaign_id": [g["campaign_id"] for g in groups for _ in g["accounts"]],
            "account_id": [a for g in groups for a in g["accounts"]],
            "level": [g["level"] for g in groups for _ in g["accounts"]],
        },
        schema=MEMBERS_SCHEMA,
    )
    return groups, members
