"""Read the parts of a scan directory sharing needs (``campaigns.json`` and ``accounts.parquet``).

The scan output contract (docs/ARCHITECTURE.md) fixes the fields; a scan dir that breaks
it is a user mistake reported in one line, not a traceback.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from distillguard.errors import DistillguardError


def _ts(value: object, where: str) -> datetime:
    try:
        ts = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise DistillguardError(f"{where}: bad timestamp {value!r}") from None
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)


def read_campaigns(scan_dir: Path) -> list[dict[str, Any]]:
    """Campaigns of a scan with typed first/last seen; accounts from accounts.parquet if missing."""
    if not scan_dir.is_dir():
        raise DistillguardError(f"scan directory {scan_dir} does not exist")
    path = scan_dir / "campaigns.json"
    if not path.is_file():
        raise DistillguardError(f"{scan_dir} has no campaigns.json (is it a scan output?)")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as err:
        raise DistillguardError(f"{path} is not valid JSON: {err}") from None
    if isinstance(data, dict):
        data = data.get("campaigns", [])
    if not isinstance(data, list):
        raise DistillguardError(f"{path} must hold a list of campaigns")
    members = _members_from_accounts(scan_dir)
    out = []
    for i, c in enumerate(data):
        where = f"{path} campaign #{i}"
        if not isinstance(c, dict) or not c.get("campaign_id"):
            raise DistillguardError(f"{where} lacks campaign_id")
        cid = str(c["campaign_id"])
        accounts = c.get("accounts") or members.get(cid, [])
        if not isinstance(accounts, list):
            raise DistillguardError(f"{where}: accounts must be a list")
        if not accounts:
            continue
        out.append(
            {
                **c,
                "campaign_id": cid,
                "accounts": sorted({str(a) for a in accounts}),
                "score": float(c.get("score") or 0.0),
                "first_seen": _ts(c.get("first_seen"), where),
                "last_seen": _ts(c.get("last_seen"), where),
            }
        )
    return out


def _members_from_accounts(scan_dir: Path) -> dict[str, list[str]]:
    path = scan_dir / "accounts.parquet"
    if not path.is_file():
        return {}
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path, columns=["account_id", "campaign_id"])
    except Exception as err:  # corrupt parquet, missing columns
        raise DistillguardError(f"cannot read {path}: {str(err).splitlines()[0]}") from None
    import pyarrow.compute as pc

    grouped = (
        table.filter(pc.is_valid(table["campaign_id"]))
        .group_by("campaign_id")
        .aggregate([("account_id", "list")])
    )
    return dict(zip(grouped["campaign_id"].to_pylist(), grouped["account_id_list"].to_pylist(), strict=True))
