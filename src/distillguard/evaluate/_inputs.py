"""Read and check the evaluation inputs: labels, the scan's accounts, the event directory.

Everything a user can get wrong (a missing file, a CSV without ``is_attack``, a scan
directory without ``accounts.parquet``, a verdict outside the contract) is reported as a
one-line :class:`DistillguardError` here, so the metric code can trust its inputs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa

from distillguard.errors import DistillguardError, UnreadableInputError
from distillguard.schema import LABELS_SCHEMA, TIMESTAMP, VERDICTS


@dataclass(frozen=True)
class Joined:
    """Labels joined to the scan's per-account output, one row per labelled account.

    Accounts the scan did not report get score 0, verdict ``clear`` and no campaign, as
    if the detector had seen them and let them pass (``missing_from_scan`` counts them).
    """

    account_id: np.ndarray  # object[str]
    is_attack: np.ndarray  # bool
    campaign: np.ndarray  # object[str | None]: true campaign
    persona: np.ndarray  # object[str]
    score: np.ndarray  # float64
    verdict: np.ndarray  # object[str]
    campaign_id: np.ndarray  # object[str | None]: predicted campaign
    flagged_at_us: np.ndarray  # int64 epoch microseconds, or the NA sentinel below
    has_flagged_at: bool  # whether accounts.parquet carries a flagged_at column
    exchanges: np.ndarray | None  # float64 per-account exchanges from the scan, when reported
    missing_from_scan: int
    unlabeled_in_scan: int

    @property
    def n(self) -> int:
        return int(self.account_id.size)


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

#: Sentinel for "never flagged" in ``flagged_at_us`` (int64 max sorts after every time).
NOT_FLAGGED = np.iinfo(np.int64).max


def _read_table(path: Path, what: str) -> pa.Table:
    """Read a Parquet or CSV file, naming the file in any error."""
    if not path.is_file():
        raise DistillguardError(f"{what} file not found: {path}")
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            import pyarrow.parquet as pq

            return pq.read_table(path)
        if suffix == ".csv":
            import pyarrow.csv as pcsv

            return pcsv.read_csv(path)
    except (pa.ArrowException, OSError) as err:
        raise UnreadableInputError(path, str(err).splitlines()[0]) from err
    raise DistillguardError(f"{what} must be .parquet or .csv, got {path.name}")


def _typed(table: pa.Table, name: str, dtype: pa.DataType, path: Path) -> pa.ChunkedArray:
    """Column ``name`` cast to ``dtype``; a column of another kind is a one-line user error.

    Labels and scan outputs may come from other tools: a ``score`` of text or a
    ``campaign_id`` of lists is bad input, not a reason for a traceback.
    """
    column = table[name]
    try:
        return column.cast(dtype)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as err:
        why = (str(err).strip().splitlines() or [type(err).__name__])[0][:120]
        raise DistillguardError(f"{path}: column {name} ({column.type}) is not {dtype}: {why}") from None


def _bool_column(column: pa.ChunkedArray, path: Path) -> pa.ChunkedArray:
    """``is_attack`` as bool; CSVs may spell it true/false, 1/0 or yes/no."""
    if pa.types.is_boolean(column.type):
        if column.null_count:
            raise DistillguardError(f"{path}: is_attack must be true/false on every row")
        return column
    import pyarrow.compute as pc

    try:
        text = pc.utf8_lower(pc.utf8_trim_whitespace(column.cast(pa.string())))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        raise DistillguardError(f"{path}: is_attack must be true/false on every row") from None
    truthy = pc.is_in(text, pa.array(["true", "1", "yes", "t", "y"]))
    falsy = pc.is_in(text, pa.array(["false", "0", "no", "f", "n"]))
    bad = pc.invert(pc.or_(truthy, falsy))
    if pc.any(pc.fill_null(bad, True)).as_py():
        raise DistillguardError(f"{path}: is_attack must be true/false on every row")
    return truthy


def read_labels(path: Path) -> pa.Table:
    """Labels as :data:`LABELS_SCHEMA`; one row per account, campaign set on attack rows."""
    import pyarrow.compute as pc

    table = _read_table(Path(path), "labels")
    missing = [name for name in LABELS_SCHEMA.names if name not in table.column_names]
    if missing:
        raise DistillguardError(f"{path}: labels lack column(s) {', '.join(missing)}")
    columns = {
        "account_id": _typed(table, "account_id", pa.string(), path),
        "is_attack": _bool_column(table["is_attack"], Path(path)),
        "campaign": _typed(table, "campaign", pa.string(), path),
        "persona": _typed(table, "persona", pa.string(), path),
    }
    # An empty string in a CSV campaign cell means "no campaign".
    columns["campaign"] = pc.if_else(pc.equal(columns["campaign"], ""), None, columns["campaign"])
    if columns["account_id"].null_count or columns["persona"].null_count:
        raise DistillguardError(f"{path}: account_id and persona must be set on every row")
    labels = pa.table(columns).cast(LABELS_SCHEMA)
    if pc.count_distinct(labels["account_id"]).as_py() != labels.num_rows:
        raise DistillguardError(f"{path}: duplicate account_id in labels")
    # An attack row without a campaign is allowed: it counts as its own singleton campaign.
    return labels


def read_accounts(scan_dir: Path) -> pa.Table:
    """The scan's ``accounts.parquet``, checked against the scan output contract."""
    import pyarrow.compute as pc

    from distillguard.report._scan import accounts_file, read_parquet

    path = accounts_file(Path(scan_dir))
    table = read_parquet(path)
    missing = [c for c in ("account_id", "score", "verdict") if c not in table.column_names]
    if missing:
        raise DistillguardError(f"{path}: lacks column(s) {', '.join(missing)}")
    score = _typed(table, "score", pa.float64(), path)
    if score.null_count or (
        table.num_rows
        and not pc.all(pc.and_(pc.greater_equal(score, 0.0), pc.less_equal(score, 1.0))).as_py()
    ):
        raise DistillguardError(f"{path}: score must be a number in [0, 1] on every row")
    verdict = _typed(table, "verdict", pa.string(), path)
    bad = pc.invert(pc.fill_null(pc.is_in(verdict, pa.array(VERDICTS)), False))
    if table.num_rows and pc.any(bad).as_py():
        example = pc.filter(verdict, bad)[0].as_py()
        raise DistillguardError(f"{path}: verdict {example!r} is not one of {', '.join(VERDICTS)}")
    account_id = _typed(table, "account_id", pa.string(), path)
    if pc.count_distinct(account_id).as_py() != table.num_rows:
        raise DistillguardError(f"{path}: duplicate account_id")
    n = table.num_rows
    campaign_id = (
        _typed(table, "campaign_id", pa.string(), path)
        if "campaign_id" in table.column_names
        else pa.nulls(n, pa.string())
    )
    columns = {"account_id": account_id, "score": score, "verdict": verdict, "campaign_id": campaign_id}
    if "flagged_at" in table.column_names:
        columns["flagged_at"] = _flagged_at(table, path)
    if "exchanges" in table.column_names:
        columns["exchanges"] = _typed(table, "exchanges", pa.int64(), path)
    return pa.table(columns)


#: ``flagged_at`` must lie in the years Python's datetime can print (reports show it as ISO 8601).
FLAGGED_AT_RANGE_US = (
    int((datetime(1, 1, 1, tzinfo=UTC) - EPOCH).total_seconds()) * 1_000_000,
    int((datetime(9999, 12, 31, tzinfo=UTC) - EPOCH).total_seconds()) * 1_000_000,
)


def _flagged_at(table: pa.Table, path: Path) -> pa.ChunkedArray:
    """``flagged_at`` as UTC microseconds, each value within :data:`FLAGGED_AT_RANGE_US`."""
    import pyarrow.compute as pc

    column = _typed(table, "flagged_at", TIMESTAMP, path)
    us = column.cast(pa.int64())
    lo, hi = pc.min_max(us).values()
    if lo.is_valid and (lo.as_py() < FLAGGED_AT_RANGE_US[0] or hi.as_py() > FLAGGED_AT_RANGE_US[1]):
        raise DistillguardError(f"{path}: flagged_at outside the years 1-9999 (not a time)")
    return column


def join(labels: pa.Table, accounts: pa.Table) -> Joined:
    """Left-join labels to scan accounts (accounts the labels do not know are counted, not scored)."""
    import pyarrow.compute as pc

    joined = labels.join(accounts, keys="account_id", join_type="left outer")
    # Join output order is unspecified; sort so every downstream number is reproducible.
    joined = joined.sort_by("account_id")
    in_scan = pc.is_valid(joined["verdict"])
    known = pc.is_in(accounts["account_id"], labels["account_id"])
    has_flagged = "flagged_at" in accounts.column_names
    if has_flagged:
        flagged_us = pc.fill_null(pc.cast(joined["flagged_at"], pa.int64()), NOT_FLAGGED).to_numpy()
    else:
        flagged_us = np.full(joined.num_rows, NOT_FLAGGED, dtype=np.int64)
    return Joined(
        account_id=np.asarray(joined["account_id"].to_pylist(), dtype=object),
        is_attack=joined["is_attack"].to_numpy(),
        campaign=np.asarray(joined["campaign"].to_pylist(), dtype=object),
        persona=np.asarray(joined["persona"].to_pylist(), dtype=object),
        score=pc.fill_null(joined["score"], 0.0).to_numpy(),
        verdict=np.asarray(pc.fill_null(joined["verdict"], "clear").to_pylist(), dtype=object),
        campaign_id=np.asarray(joined["campaign_id"].to_pylist(), dtype=object),
        flagged_at_us=np.asarray(flagged_us, dtype=np.int64),
        has_flagged_at=has_flagged,
        exchanges=(
            pc.fill_null(joined["exchanges"], 0).to_numpy().astype(np.float64)
            if "exchanges" in accounts.column_names
            else None
        ),
        missing_from_scan=joined.num_rows - _count_true(in_scan),
        unlabeled_in_scan=accounts.num_rows - _count_true(known),
    )


def _count_true(mask: pa.ChunkedArray | pa.Array) -> int:
    import pyarrow.compute as pc

    return int(pc.sum(pc.cast(mask, pa.int64())).as_py() or 0)


@dataclass(frozen=True)
class EventSource:
    """The event directory an evaluation reads: where it is and its Parquet part files."""

    path: str
    files: list[str]


def event_source(events: Path | None, labels_path: Path) -> EventSource | None:
    """The event directory to read, or ``None`` when there are no events to read.

    ``events`` may be an event directory (ingest and simulate output) or its ``events/``
    folder; without it, the labels file's directory is used when it is one (simulator
    layout). The layout itself is ``distillguard.ingest``'s business: this only asks
    ``is_event_dir`` and ``open_events``.
    """
    from distillguard.ingest import is_event_dir, open_events
    from distillguard.report._events import event_files, resolve_event_dir

    if events is None:
        root = Path(labels_path).parent
        if not is_event_dir(root):
            return None
        source = EventSource(str(root), open_events(root).files)
    else:
        source = EventSource(str(resolve_event_dir(events)), event_files(events))
    check_event_files(source.files)
    return source


def _is_text(t: pa.DataType) -> bool:
    return pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t)


#: Columns the evaluation reads from every event file, and the kind each must be.
EVENT_COLUMN_KINDS = {"timestamp": (pa.types.is_timestamp, "a timestamp"), "account_id": (_is_text, "text")}


def check_event_files(files: list[str]) -> None:
    """Every event file has the columns the evaluation queries, of the right kind.

    Ingest always writes them so; a hand-made ``--events`` directory may not, and DuckDB
    would then stop with a binder error deep inside a query.
    """
    import pyarrow.parquet as pq

    for f in files:
        try:
            schema = pq.read_schema(f)
        except (OSError, pa.ArrowException) as err:
            raise UnreadableInputError(f, (str(err).strip().splitlines() or ["unreadable"])[0]) from None
        for name, (ok, kind) in EVENT_COLUMN_KINDS.items():
            if name not in schema.names:
                raise DistillguardError(f"{f}: events lack column {name}")
            if not ok(schema.field(name).type):
                raise DistillguardError(f"{f}: events column {name} is {schema.field(name).type}, not {kind}")
