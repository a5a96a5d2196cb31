"""Read a scan directory (the scan output contract) for the report and the enforcement list.

Only ``accounts.parquet`` is required; ``campaigns.json``, ``signals.parquet``,
``edges.parquet``, ``quarantine.parquet`` and ``scan_meta.json`` enrich the report when
present, so a partial scan still gets a report that says what is missing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from distillguard.errors import DistillguardError, UnreadableInputError
from distillguard.schema import EDGES_SCHEMA, SIGNALS_SCHEMA, TIMESTAMP, VERDICTS


@dataclass
class ScanOutput:
    """The parts of a scan directory the report reads."""

    path: Path
    accounts: pa.Table
    campaigns: list[dict[str, Any]]
    signals: pa.Table | None
    edges: pa.Table | None
    meta: dict[str, Any]
    quarantined: int | None
    missing: list[str] = field(default_factory=list)  # optional files that were absent


def read_parquet(path: Path) -> pa.Table:
    """A Parquet file, any read failure reported in one line naming the file."""
    import pyarrow.parquet as pq

    try:
        return pq.read_table(path)
    except (pa.ArrowException, OSError) as err:
        raise UnreadableInputError(path, str(err).splitlines()[0]) from err


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise UnreadableInputError(path, str(err).splitlines()[0]) from err


def _accounts(path: Path) -> pa.Table:
    table = read_parquet(path)
    missing = [c for c in ("account_id", "score", "verdict") if c not in table.column_names]
    if missing:
        raise DistillguardError(f"{path}: lacks column(s) {', '.join(missing)}")
    n = table.num_rows
    columns: dict[str, pa.ChunkedArray | pa.Array] = {
        "account_id": table["account_id"].cast(pa.string()),
        "score": table["score"].cast(pa.float64()),
        "verdict": table["verdict"].cast(pa.string()),
    }
    optional: dict[str, pa.DataType] = {
        "campaign_id": pa.string(),
        "reasons": pa.list_(pa.string()),
        "flagged_at": TIMESTAMP,
        "exchanges": pa.int64(),
        "first_seen": TIMESTAMP,
        "last_seen": TIMESTAMP,
    }
    for name, dtype in optional.items():
        columns[name] = table[name].cast(dtype) if name in table.column_names else pa.nulls(n, dtype)
    out = pa.table(columns)
    import pyarrow.compute as pc

    bad = pc.invert(pc.fill_null(pc.is_in(out["verdict"], pa.array(VERDICTS)), False))
    if n and pc.any(bad).as_py():
        raise DistillguardError(f"{path}: verdict must be one of {', '.join(VERDICTS)}")
    return out


def _campaigns(path: Path) -> list[dict[str, Any]]:
    data = _read_json(path)
    if isinstance(data, dict) and isinstance(data.get("campaigns"), list):
        data = data["campaigns"]
    if not isinstance(data, list) or not all(isinstance(c, dict) for c in data):
        raise DistillguardError(f"{path}: expected a list of campaign objects")
    for i, c in enumerate(data):
        if "campaign_id" not in c or not isinstance(c.get("accounts", []), list):
            raise DistillguardError(f"{path}: campaign #{i} lacks campaign_id or an accounts list")
    return data


def _conform(table: pa.Table, schema: pa.Schema, path: Path) -> pa.Table:
    """Cast to ``schema``; absent optional columns become nulls, absent required ones an error."""
    columns = {}
    for f in schema:
        if f.name in table.column_names:
            columns[f.name] = table[f.name].cast(f.type)
        elif f.nullable:
            columns[f.name] = pa.nulls(table.num_rows, f.type)
        else:
            raise DistillguardError(f"{path}: lacks column {f.name}")
    return pa.table(columns)


def accounts_file(scan_dir: Path) -> Path:
    """``scan_dir/accounts.parquet``; a user error when ``scan_dir`` is not a scan directory.

    The one required file of the scan output contract: evaluate checks scans here too.
    """
    if not scan_dir.is_dir():
        raise DistillguardError(f"scan directory not found: {scan_dir}")
    path = scan_dir / "accounts.parquet"
    if not path.is_file():
        raise DistillguardError(f"{scan_dir} is not a scan directory (no accounts.parquet)")
    return path


def load_scan(scan_dir: Path) -> ScanOutput:
    """Read ``scan_dir``; a user error (one line) when it is not a scan directory."""
    scan_dir = Path(scan_dir)
    accounts_path = accounts_file(scan_dir)
    missing: list[str] = []

    def optional(name: str) -> Path | None:
        path = scan_dir / name
        if path.is_file():
            return path
        missing.append(name)
        return None

    campaigns_path = optional("campaigns.json")
    signals_path = optional("signals.parquet")
    edges_path = optional("edges.parquet")
    meta_path = optional("scan_meta.json")
    quarantine_path = optional("quarantine.parquet")
    meta = _read_json(meta_path) if meta_path else {}
    if not isinstance(meta, dict):
        raise DistillguardError(f"{meta_path}: expected a JSON object")
    quarantined = None
    if quarantine_path is not None:
        import pyarrow.parquet as pq

        try:
            quarantined = pq.ParquetFile(quarantine_path).metadata.num_rows
        except (pa.ArrowException, OSError) as err:
            raise UnreadableInputError(quarantine_path, str(err).splitlines()[0]) from err
    return ScanOutput(
        path=scan_dir,
        accounts=_accounts(accounts_path),
        campaigns=_campaigns(campaigns_path) if campaigns_path else [],
        signals=_conform(read_parquet(signals_path), SIGNALS_SCHEMA, signals_path) if signals_path else None,
        edges=_conform(read_parquet(edges_path), EDGES_SCHEMA, edges_path) if edges_path else None,
        meta=meta,
        quarantined=quarantined,
        missing=missing,
    )
