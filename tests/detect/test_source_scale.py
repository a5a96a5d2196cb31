"""Streaming load+enrich (features._source) gives the one-pass enrich result, without raw text."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from distillguard.enrich import enrich
from distillguard.enrich.ip_infra import IpInfra
from distillguard.errors import DistillguardError
from distillguard.features import _source
from distillguard.features._source import load_events

#: rows per streamed batch in these tests: small enough that the tiny scenario spans many
#: batches, so a template seen in several batches must still get one family id
_TEST_BATCH_ROWS = 4_000


@pytest.fixture(autouse=True)
def _small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_source, "STREAM_BATCH_ROWS", _TEST_BATCH_ROWS)


def _raw(path: Path) -> pa.Table:
    from distillguard.ingest import open_events

    return open_events(path).to_table()


def _one_pass(raw: pa.Table) -> pa.Table:
    """The pre-streaming behaviour: enrich over the whole table at once."""
    return enrich(raw, IpInfra.builtin()).sort_by("event_id")


def _assert_same_enrichment(old: pa.Table, new: pa.Table) -> None:
    assert old.column("event_id").equals(new.column("event_id"))
    shared = [c for c in old.column_names if c not in ("prompt", "system_prompt")]
    assert set(shared) <= set(new.column_names)
    for name in shared:
        assert old.column(name).equals(new.column(name)), name


def _expected_hash(raw: pa.Table, column: str) -> pa.Array:
    con = duckdb.connect()
    con.register("raw", raw)
    got = con.execute(f"SELECT CASE WHEN {column} IS NULL THEN NULL ELSE hash({column}) END FROM raw")
    return pa.array(got.fetchnumpy()[got.description[0][0]], pa.uint64(), from_pandas=True)


def test_streamed_equals_one_pass_and_drops_text(tiny_dir: Path) -> None:
    raw = _raw(tiny_dir).sort_by("event_id")
    loaded = load_events([tiny_dir])
    new = loaded.events.sort_by("event_id")
    assert "prompt" not in new.column_names and "system_prompt" not in new.column_names
    assert loaded.has_prompts
    assert "streamed in" in loaded.enrich_note
    assert new.num_rows == raw.num_rows > 2 * _TEST_BATCH_ROWS  # really several batches
    _assert_same_enrichment(_one_pass(raw), new)
    # families join many distinct templates (else the equality above would be vacuous)
    assert pc.count_distinct(new["template_family"]).as_py() < pc.count_distinct(new["template_id"]).as_py()
    assert new.schema.field("prompt_hash").type == pa.uint64()
    assert new["prompt_hash"].equals(pa.chunked_array([_expected_hash(raw, "prompt")]))
    assert new["system_hash"].null_count == raw["system_prompt"].null_count
    sys_pairs = pa.table({"t": raw["system_prompt"], "h": new["system_hash"]}).drop_null()
    per_text = sys_pairs.group_by("t").aggregate([("h", "count_distinct")])
    assert pc.max(per_text["h_count_distinct"]).as_py() == 1  # equal text -> equal hash
    per_hash = sys_pairs.group_by("h").aggregate([("t", "count_distinct")])
    assert pc.max(per_hash["t_count_distinct"]).as_py() == 1  # distinct text -> distinct hash


def test_as_of_cuts_before_enrichment(tiny_dir: Path) -> None:
    raw = _raw(tiny_dir)
    ts = pc.sort_indices(raw["timestamp"])
    cut: dt.datetime = raw["timestamp"][ts[raw.num_rows // 2].as_py()].as_py()
    loaded = load_events([tiny_dir], as_of=cut)
    before = raw.filter(pc.less_equal(raw["timestamp"], pa.scalar(cut, raw["timestamp"].type)))
    assert 0 < loaded.events.num_rows == before.num_rows < raw.num_rows
    _assert_same_enrichment(_one_pass(before), loaded.events.sort_by("event_id"))


def test_metadata_only_has_no_prompt_side(tiny_dir: Path) -> None:
    loaded = load_events([tiny_dir], metadata_only=True)
    ev = loaded.events
    assert not loaded.has_prompts
    assert ev["prompt_hash"].null_count == ev["system_hash"].null_count == ev.num_rows
    assert ev["template_family"].null_count == ev.num_rows
    assert ev["asn"].null_count < ev.num_rows  # IP enrichment still ran
    raw = _raw(tiny_dir).drop_columns(["prompt", "system_prompt"])
    _assert_same_enrichment(_one_pass(raw), ev.sort_by("event_id"))


def test_as_of_before_everything_is_an_error(tiny_dir: Path) -> None:
    with pytest.raises(DistillguardError, match="no valid events"):
        load_events([tiny_dir], as_of=dt.datetime(2000, 1, 1, tzinfo=dt.UTC))


def test_missing_input_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(DistillguardError, match="does not exist"):
        load_events([tmp_path / "nope"])
