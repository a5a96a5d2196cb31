"""The per-text enrichment kernels on Spark executors, for ``scan --engine pyspark``.

Why: normalizing, MinHash and LSH band keys, frame texts and tag rules are a function of one
text alone (:func:`~._stream.text_parts`) and are most of the prompt-side cost; on Spark
they should run where the cores are. :class:`SparkTextKernel` hands the distinct texts of a
field to Spark as an Arrow-backed DataFrame, runs :func:`~._stream.text_parts` on every
Arrow batch of it on the executors (``DataFrame.mapInArrow``) and collects the parts
(``DataFrame.toArrow``). What needs all texts together (template families from the band
keys, frame sides and frame families: :func:`~._stream.per_text_tables`) stays on the
driver; its input is one row per distinct text, never per event.

The result is bit for bit :func:`~._stream.text_parts` of the same texts in the same order:
the kernel is that very function, rows come back sorted by their position, and the only
conversions are the ones Spark forces on the way (unsigned 64-bit as signed, the fixed-size
list of band keys as a variable list), undone exactly on the driver.

Executors import ``distillguard`` (their Python must have it installed). In local mode,
when ``PYSPARK_PYTHON`` is not set, the workers run the driver's own interpreter
(PySpark's default, ``python3`` on PATH, is often another Python without the package).
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Iterator
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from distillguard.enrich._enrich import EnrichParams
from distillguard.enrich._stream import text_parts

#: Column carrying each text's position in the catalog, so the collected parts are put back
#: in the catalog's order whatever order the executors finish in.
POSITION_COLUMN = "_dg_pos"
#: Distinct texts per Arrow batch handed to (and per task of) the kernel. Each batch has a
#: fixed cost (seen here: 122,554 prompts took 12.0 s in 10,000-text batches, 9.0 s at once,
#: one core), and 25,000 prompts of simulated traffic are ~25 MB, small for an executor,
#: while an input of 1M distinct prompts still spreads over 40 tasks.
TEXTS_PER_BATCH: int = 25_000


def _to_spark(parts: pa.Table) -> pa.Table:
    """``parts`` in types Spark has: uint64 as int64 (bit for bit), fixed-size lists as lists."""
    cols = []
    for f in parts.schema:
        col = parts[f.name].combine_chunks()
        if pa.types.is_fixed_size_list(f.type):
            flat = col.flatten()
            flat = pc.cast(flat, pa.int64(), safe=False) if flat.type == pa.uint64() else flat
            offsets = pa.array(np.arange(len(col) + 1, dtype=np.int32) * f.type.list_size, pa.int32())
            col = pa.ListArray.from_arrays(offsets, flat)
        elif f.type == pa.uint64():
            col = pc.cast(col, pa.int64(), safe=False)
        cols.append(col)
    return pa.table(cols, names=parts.column_names)


def _from_spark(table: pa.Table, target: pa.Schema) -> pa.Table:
    """Undo :func:`_to_spark`: ``table`` in the exact types of ``target``."""
    cols = []
    for f in target:
        col = table[f.name].combine_chunks()
        if pa.types.is_fixed_size_list(f.type):
            flat = col.flatten()
            flat = pc.cast(flat, f.type.value_type, safe=False)
            col = pa.FixedSizeListArray.from_arrays(flat, f.type.list_size)
        else:
            col = pc.cast(col, f.type, safe=False)
        cols.append(col)
    return pa.Table.from_arrays(cols, schema=target)


def _kernel(
    batches: Iterator[pa.RecordBatch],
    *,
    text_field: str,
    params: EnrichParams,
    seed: int,
    out_schema: pa.Schema,
) -> Iterator[pa.RecordBatch]:
    """Executor side: :func:`text_parts` of each batch of (position, hash, text) rows."""
    for batch in batches:
        if batch.num_rows == 0:
            continue
        hashes = pc.cast(batch.column("h"), pa.uint64(), safe=False).to_numpy()
        texts = batch.column("v").cast(pa.string())
        parts = _to_spark(text_parts(text_field, hashes, texts, params, seed))
        parts = parts.append_column(POSITION_COLUMN, batch.column(POSITION_COLUMN))
        yield from parts.select(out_schema.names).cast(out_schema).to_batches()


class SparkTextKernel:
    """``text_parts`` with the work on Spark: call it as :func:`~._stream.text_parts` is
    called (field, distinct hashes, their texts, params, seed)."""

    name = "pyspark"

    def __init__(self, spark: Any) -> None:
        self.spark = spark
        self.tasks = 0  #: Spark tasks the kernel ran in (one per batch of distinct texts)

    def __call__(
        self, text_field: str, hashes: np.ndarray, texts: pa.Array, params: EnrichParams, seed: int
    ) -> pa.Table:
        # the output's exact types, from one text on the driver (cheap, and the same code)
        want = text_parts(text_field, hashes[:1], texts[:1], params, seed).schema
        if len(hashes) == 0:
            return want.empty_table()
        from pyspark.sql.pandas.types import from_arrow_schema, to_arrow_schema

        struct = from_arrow_schema(
            _to_spark(want.empty_table()).append_column(POSITION_COLUMN, pa.array([], pa.int64())).schema
        )
        out_schema = to_arrow_schema(struct)
        sc = self.spark.sparkContext
        if "PYSPARK_PYTHON" not in os.environ and sc.master.startswith("local"):
            sc.pythonExec = sys.executable  # see the module docstring
        given = pa.table(
            {
                POSITION_COLUMN: pa.array(np.arange(len(hashes), dtype=np.int64)),
                "h": pc.cast(pa.array(hashes, pa.uint64()), pa.int64(), safe=False),
                "v": texts.cast(pa.string()),
            }
        )
        # createDataFrame sends one Arrow batch per partition: TEXTS_PER_BATCH texts per task
        previous = self.spark.conf.get("spark.sql.execution.arrow.maxRecordsPerBatch")
        self.spark.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", str(TEXTS_PER_BATCH))
        try:
            df = self.spark.createDataFrame(given)
            self.tasks += -(-len(hashes) // TEXTS_PER_BATCH)
            kernel = functools.partial(
                _kernel, text_field=text_field, params=params, seed=seed, out_schema=out_schema
            )
            got = df.mapInArrow(kernel, struct).toArrow()
        finally:
            self.spark.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", previous)
        got = got.sort_by(POSITION_COLUMN)
        if got.num_rows != len(hashes) or not np.array_equal(
            got[POSITION_COLUMN].to_numpy(), np.arange(len(hashes))
        ):
            raise RuntimeError(f"Spark text kernel returned {got.num_rows} rows for {len(hashes)} texts")
        return _from_spark(got, want)
