"""What a reader hands the validator: a batch of source rows plus rows it could not parse."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from distillguard.schema import QUARANTINE_SCHEMA


@dataclass
class RawBatch:
    """Source rows (columns as found) with their 1-based row numbers, and malformed rows.

    ``row_numbers`` are line numbers for JSON lines and record numbers (header = 1)
    for CSV; for Parquet the 1-based row index in the file. ``malformed`` already has
    QUARANTINE_SCHEMA rows (``malformed_row`` or ``too_deep``) with the source text in ``raw``.
    """

    table: pa.Table
    source: str
    row_numbers: pa.Array
    malformed: pa.Table = field(default_factory=QUARANTINE_SCHEMA.empty_table)
    #: OTel spans that were not GenAI spans: reported, not rows of the event log.
    skipped_spans: int = 0

    @property
    def rows_read(self) -> int:
        return self.table.num_rows + self.malformed.num_rows


def malformed_rows(
    source: str,
    numbers: list[int | None],
    texts: list[str],
    details: list[str | None] | None = None,
    reason: str = "malformed_row",
) -> pa.Table:
    """Quarantine rows for records that could not be parsed at all (or not safely)."""
    n = len(texts)
    return pa.table(
        {
            "reason": pa.array([reason] * n, pa.string()),
            "source": pa.array([source] * n, pa.string()),
            "row_number": pa.array(numbers, pa.int64()),
            "event_id": pa.nulls(n, pa.string()),
            "account_id": pa.nulls(n, pa.string()),
            "raw": pa.array(texts, pa.string()),
            "detail": pa.array(details if details is not None else [None] * n, pa.string()),
        },
        schema=QUARANTINE_SCHEMA,
    )


def numbered(first: int, n: int) -> pa.Array:
    return pa.array(np.arange(first, first + n, dtype=np.int64))


def column_less(n: int) -> pa.Table:
    """A table of ``n`` rows and no columns (records like ``{}`` are still rows)."""
    return pa.Table.from_batches([pa.RecordBatch.from_struct_array(pa.array([{}] * n, pa.struct([])))])
