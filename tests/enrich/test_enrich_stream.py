"""StreamEnricher: batch-by-batch enrichment equals one-pass ``enrich`` on the concatenation."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from distillguard.enrich import enrich
from distillguard.enrich._stream import SPILL_WRITES_IN_FLIGHT, StreamEnricher, text_hashes

_WRAPPERS = (
    "Solve the following problem. Think step by step and show all reasoning: {}",
    "Solve this problem. Think step by step and show all of your reasoning: {}",
    "Rewrite the following paragraph in formal English: {}",
)


def _events(n: int, seed: int) -> pa.Table:
    rng = np.random.default_rng(seed)
    prompts: list[str | None] = []
    systems: list[str | None] = []
    for i in range(n):
        r = rng.random()
        if r < 0.1:
            prompts.append(None)
        elif r < 0.7:
            task = f"task {rng.integers(0, 40)} about item{rng.integers(0, 9)}"
            prompts.append(_WRAPPERS[i % 3].format(task))
        else:
            prompts.append(f"hello there, how is the weather in town {rng.integers(0, 30)} today?")
        systems.append(None if rng.random() < 0.6 else f"You are grader {rng.integers(0, 3)}. Score 1-10.")
    return pa.table(
        {
            "event_id": [f"e{i:05d}" for i in range(n)],
            "client_ip": [None if i % 11 == 0 else f"10.0.{i % 7}.{i % 200}" for i in range(n)],
            "prompt": pa.array(prompts, pa.string()),
            "system_prompt": pa.array(systems, pa.string()),
            "tool_count": pa.array(rng.integers(0, 2, n), pa.int64()),
            "has_image": pa.array(rng.random(n) < 0.05),
        }
    )


@pytest.mark.parametrize("batch_rows", [37, 400, 5000])
def test_stream_matches_one_pass(batch_rows: int) -> None:
    table = _events(1200, seed=batch_rows)
    old = enrich(table)
    se = StreamEnricher()
    for batch in table.to_batches(max_chunksize=batch_rows):
        se.add(batch)
    new = se.finish()
    assert new.num_rows == table.num_rows and se.rows == table.num_rows
    assert "prompt" not in new.column_names and "system_prompt" not in new.column_names
    for name in old.column_names:
        if name not in ("prompt", "system_prompt"):
            assert old.column(name).equals(new.column(name)), name
    assert se.distinct["prompt"] == len(set(table["prompt"].drop_null().to_pylist()))
    assert new["prompt_hash"].null_count == table["prompt"].null_count
    assert se.rows_with_prompt == table.num_rows - table["prompt"].null_count


def test_hashes_equal_for_equal_text() -> None:
    import duckdb

    con = duckdb.connect()
    texts = pa.array(["a", "b", "a", "", "b c"])
    h = text_hashes(con, texts)
    assert h.dtype == np.uint64
    assert h[0] == h[2] and len({h[0], h[1], h[3], h[4]}) == 4
    assert len(text_hashes(con, pa.array([], pa.string()))) == 0


def test_all_null_prompts_and_empty_stream() -> None:
    table = _events(50, seed=1).drop_columns(["prompt", "system_prompt"])
    se = StreamEnricher()
    se.add(table)
    new = se.finish()
    old = enrich(table)
    for name in old.column_names:
        assert old.column(name).equals(new.column(name)), name
    assert new["prompt_hash"].null_count == 50 and new["template_id"].null_count == 50
    empty = StreamEnricher()
    assert empty.finish().num_rows == 0


def test_batches_spill_to_parquet_and_memory_stays_flat(tmp_path) -> None:
    """Each hashed batch goes to a Parquet file: Arrow memory does not grow with the events
    added (only with new distinct texts), and the spilled result is still one-pass ``enrich``."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    table = _events(3000, seed=5)
    copies = [
        table.set_column(0, "event_id", pc.binary_join_element_wise(table["event_id"], f"c{i}", "-"))
        for i in range(8)
    ]
    se = StreamEnricher(spill_dir=tmp_path)
    se.add(copies[0])  # every distinct text is in the catalog from here on
    se._written()  # batches being written in the background are held until written
    held = pa.total_allocated_bytes()
    for copy in copies[1:]:
        se.add(copy)
        assert len(se._writes) <= SPILL_WRITES_IN_FLIGHT
    se._written()
    assert pa.total_allocated_bytes() - held < table.nbytes / 4  # kept batches would be ~3x table
    files = sorted(tmp_path.rglob("*.parquet"))
    assert len(files) == 8 and sum(pq.read_metadata(f).num_rows for f in files) == 8 * 3000
    assert not any("prompt" in pq.read_schema(f).names for f in files)  # no raw text on disk
    spilled = se.finish_spilled()
    assert spilled.rows == 8 * 3000 and spilled.prompt_text.num_rows == se.distinct["prompt"]
    whole = pa.concat_tables(copies)
    old, new = enrich(whole), spilled.to_table()
    for name in old.column_names:
        if name not in ("prompt", "system_prompt"):
            assert old.column(name).equals(new.column(name)), name
    spilled.remove()
    assert not list(tmp_path.rglob("*.parquet"))
