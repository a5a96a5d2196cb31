"""Batch readers per container; every low-level failure becomes UnreadableInputError.

Readers never hold a whole file: Parquet is read by row batches, CSV by the
streaming reader, JSON lines by byte blocks, Delta Lake and Iceberg tables (``_lake``)
by row batches of their current version's data files. A reader only parses; validation is
the validator's job, so readers keep the source's column names and types.
"""

from __future__ import annotations

import codecs
import zlib
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from distillguard.errors import DistillguardError, UnreadableInputError
from distillguard.ingest._convert import cast_rowwise
from distillguard.ingest._depth import MAX_NESTING_DEPTH
from distillguard.ingest._jsonl import DEFAULT_BLOCK_BYTES, open_stream, read_jsonl
from distillguard.ingest._raw import RawBatch, malformed_rows
from distillguard.ingest._sources import SourceFile

#: Rows per Parquet batch (the unit of validation and writing).
DEFAULT_BATCH_ROWS = 131_072

_READ_ERRORS = (OSError, EOFError, zlib.error, pa.ArrowException, UnicodeDecodeError)

#: Batches / files of an event directory read ahead while a batch is enriched, by one thread
#: (:func:`event_batches`). pyarrow's threaded defaults (16 / 4) let the reader run ahead of
#: the slower enrichment until most of the input sat in memory (4M events: 1.1 GB queued; the
#: state's enrichment cache of a 47M-event increment: 13.3 GB peak, 2.16 GB with these);
#: reading is ~10x faster than enriching, so a short single-threaded queue costs nothing.
READ_AHEAD_BATCHES = 1
READ_AHEAD_FILES = 1


def event_batches(dataset: Any, batch_size: int | None = None) -> Iterator[pa.RecordBatch]:
    """The batches of a pyarrow dataset (an event directory, a Delta table's current files),
    read at most :data:`READ_AHEAD_BATCHES` / :data:`READ_AHEAD_FILES` ahead on one thread:
    memory stays at a few batches. ``batch_size``: rows per batch (pyarrow's default if None)."""
    sizing = {} if batch_size is None else {"batch_size": batch_size}
    return dataset.to_batches(
        batch_readahead=READ_AHEAD_BATCHES, fragment_readahead=READ_AHEAD_FILES, use_threads=False, **sizing
    )


def read_parquet(src: SourceFile, batch_rows: int = DEFAULT_BATCH_ROWS) -> Iterator[RawBatch]:
    """Row batches of a Parquet file; row numbers are 1-based row indices."""
    pf = pq.ParquetFile(str(src.path))
    yield from arrow_raw_batches(src, pf.iter_batches(batch_size=batch_rows))


def arrow_raw_batches(src: SourceFile, batches: Iterable[pa.RecordBatch]) -> Iterator[RawBatch]:
    """Arrow record batches as RawBatches numbered 1.. in read order (empty batches skipped)."""
    first = 1
    for batch in batches:
        if batch.num_rows == 0:
            continue
        table = pa.Table.from_batches([batch])
        yield RawBatch(table, src.name, pa.array(np.arange(first, first + table.num_rows, dtype=np.int64)))
        first += table.num_rows


#: Stands in for bytes that are not UTF-8 before pyarrow reads a CSV: its invalid-row hook
#: decodes a ragged row's text as UTF-8 and, on such bytes, fails the whole file (and can
#: abort the process). A noncharacter no text exchange carries; a row holding it is
#: quarantined as malformed, as a row with invalid UTF-8 always was.
NOT_UTF8 = "\U0010ffff"
_MARK_ERRORS = "distillguard-mark-not-utf8"
codecs.register_error(_MARK_ERRORS, lambda err: (NOT_UTF8, err.end))  # type: ignore[arg-type,return-value]


class _MarkedUtf8:
    """A binary stream whose bytes that are not UTF-8 read as :data:`NOT_UTF8` (streaming)."""

    def __init__(self, raw: Any, chunk: int = 1 << 20) -> None:
        self._raw = raw
        self._chunk = chunk
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors=_MARK_ERRORS)
        self._pending = b""
        self._done = False
        self.closed = False

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        while not self._done and (size < 0 or len(self._pending) < size):
            data = self._raw.read(self._chunk)
            self._done = not data
            self._pending += self._decoder.decode(data, final=self._done).encode("utf-8")
        if size < 0:
            out, self._pending = self._pending, b""
        else:
            out, self._pending = self._pending[:size], self._pending[size:]
        return out

    def close(self) -> None:
        self.closed = True


def _csv_header(src: SourceFile) -> list[str]:
    with open_stream(src) as raw:
        stream = _MarkedUtf8(raw)
        reader = pcsv.open_csv(
            stream,
            read_options=pcsv.ReadOptions(use_threads=False, block_size=1 << 16),
            parse_options=pcsv.ParseOptions(
                delimiter=src.delimiter, newlines_in_values=True, invalid_row_handler=lambda _row: "skip"
            ),
            convert_options=pcsv.ConvertOptions(strings_can_be_null=False),
        )
        return list(reader.schema.names)


def read_csv(src: SourceFile, block_bytes: int = DEFAULT_BLOCK_BYTES) -> Iterator[RawBatch]:
    """CSV/TSV rows, every column read as text (the validator types them).

    Reading as text keeps one bad value from failing its whole block; reading as
    binary first lets a row with invalid UTF-8 be quarantined instead of the file.
    Rows with the wrong number of fields go to quarantine via the invalid-row hook.
    """
    try:
        names = _csv_header(src)
    except pa.ArrowInvalid as err:
        if "Empty CSV file" in str(err):
            return
        raise
    bad_rows: list[tuple[int | None, str]] = []

    def on_invalid(row: pcsv.InvalidRow) -> str:
        bad_rows.append((row.number, row.text))
        return "skip"

    next_record = 2  # the header is record 1
    with open_stream(src) as raw:
        stream = _MarkedUtf8(raw)
        reader = pcsv.open_csv(
            stream,
            read_options=pcsv.ReadOptions(use_threads=False, block_size=block_bytes),
            parse_options=pcsv.ParseOptions(
                delimiter=src.delimiter, newlines_in_values=True, invalid_row_handler=on_invalid
            ),
            convert_options=pcsv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.binary()), strings_can_be_null=False
            ),
        )
        for batch in reader:
            n = batch.num_rows
            pending = np.array([b[0] if b[0] is not None else -1 for b in bad_rows], dtype=np.int64)
            candidates = np.arange(next_record, next_record + n + len(pending), dtype=np.int64)
            numbers = candidates[~np.isin(candidates, pending)][:n]
            if n:
                next_record = int(numbers[-1]) + 1
            emitted = [b for b in bad_rows if b[0] is None or b[0] < next_record]
            bad_rows[:] = [b for b in bad_rows if not (b[0] is None or b[0] < next_record)]
            yield _csv_batch(src, batch, numbers, emitted)
        if bad_rows:
            yield _csv_batch(src, None, np.zeros(0, dtype=np.int64), bad_rows)


def _csv_batch(
    src: SourceFile, batch: pa.RecordBatch | None, numbers: np.ndarray, bad: list[tuple[int | None, str]]
) -> RawBatch:
    malformed = malformed_rows(src.name, [b[0] for b in bad], [b[1].replace(NOT_UTF8, "\ufffd") for b in bad])
    if batch is None:
        return RawBatch(pa.table({}), src.name, pa.array(numbers), malformed)
    columns = []
    invalid = np.zeros(batch.num_rows, dtype=bool)
    for col in batch.columns:
        text, bad_utf8 = cast_rowwise(col, pa.string())
        columns.append(text)
        invalid |= bad_utf8.to_numpy(zero_copy_only=False)
        invalid |= pc.fill_null(pc.match_substring(text, NOT_UTF8), False).to_numpy(zero_copy_only=False)
    table = pa.Table.from_arrays(columns, names=batch.schema.names)
    if invalid.any():
        keep = pa.array(~invalid)
        broken = pa.Table.from_batches([batch]).filter(pa.array(invalid))
        texts = [
            src.delimiter.join(
                v.decode("utf-8", "replace").replace(NOT_UTF8, "\ufffd") if v is not None else ""
                for v in row.values()
            )
            for row in broken.to_pylist()
        ]
        extra = malformed_rows(src.name, numbers[invalid].tolist(), texts)
        malformed = pa.concat_tables([malformed, extra])
        table = table.filter(keep)
        numbers = numbers[~invalid]
    return RawBatch(table, src.name, pa.array(numbers), malformed)


def read_source(
    src: SourceFile,
    *,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    block_bytes: int = DEFAULT_BLOCK_BYTES,
    max_depth: int = MAX_NESTING_DEPTH,
) -> Iterator[RawBatch]:
    """Raw batches of one file; any failure to read it raises UnreadableInputError.

    ``max_depth`` bounds JSON nesting (JSON lines and OTel; deeper records are
    quarantined as ``too_deep``). Parquet needs no check of its own: pyarrow refuses a
    schema nested over 100 levels, which stops the run with a one-line error.
    """
    try:
        if src.container == "parquet":
            yield from read_parquet(src, batch_rows)
        elif src.container == "csv":
            yield from read_csv(src, block_bytes)
        elif src.container == "jsonl":
            yield from read_jsonl(src, block_bytes, max_depth)
        elif src.container == "otel":
            from distillguard.ingest._otel import read_otel

            yield from read_otel(src, block_bytes, max_depth)
        elif src.container in ("delta", "iceberg"):
            from distillguard.ingest._lake import read_table

            yield from arrow_raw_batches(src, read_table(src, batch_rows))
        else:  # pragma: no cover - classify() only yields known containers
            raise DistillguardError(f"unknown container {src.container!r} for {src.path}")
    except DistillguardError:
        raise
    except _READ_ERRORS as err:
        raise UnreadableInputError(src.path, _short(err)) from None


def _short(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    first = text[0] if text else type(err).__name__
    if isinstance(err, PermissionError):
        return "permission denied"
    if isinstance(err, FileNotFoundError):
        return "no such file"
    return first[:200]
