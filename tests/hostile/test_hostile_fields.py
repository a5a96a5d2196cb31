"""Field-length limits, named columns in quarantine details, and runs that accept nothing."""

from __future__ import annotations

import json

import pyarrow.parquet as pq

from distillguard.ingest import ValidationOptions, ingest, iter_event_batches, open_events
from distillguard.ingest._api import NoEventsAccepted
from distillguard.ingest._validate import MAX_ID_CHARS, MAX_PROMPT_CHARS


def _write(path, corpus, records):
    path.write_bytes(b"".join(corpus.line(r) for r in records))
    return path


def _quarantine(path):
    rejected = [q for _, q in iter_event_batches(path)]
    return [r for q in rejected for r in q.to_pylist()]


def test_over_long_ids_are_quarantined_naming_the_field(tmp_path, corpus):
    src = _write(
        tmp_path / "x.jsonl",
        corpus,
        [
            corpus.row(account_id="A" * 10_000),
            corpus.row(event_id="e2", account_id="B" * MAX_ID_CHARS),
            corpus.row(event_id="e3", api_key_id="k" * (MAX_ID_CHARS + 1)),
        ],
    )
    result = ingest(src, tmp_path / "out")
    assert (result.accepted, result.quarantined_by_reason["field_too_long"]) == (1, 2)
    details = pq.read_table(tmp_path / "out" / "quarantine.parquet").column("detail").to_pylist()
    assert details == [
        f"account_id: 10,000 characters > max_id_chars={MAX_ID_CHARS}",
        f"api_key_id: {MAX_ID_CHARS + 1} characters > max_id_chars={MAX_ID_CHARS}",
    ]
    assert open_events(result.out).to_table().column("account_id").to_pylist() == ["B" * MAX_ID_CHARS]


def test_over_long_client_text_is_truncated_and_counted(tmp_path, corpus):
    """Prompts and client-set ids are cut, not quarantined: padding must not hide traffic."""
    src = _write(
        tmp_path / "x.jsonl",
        corpus,
        [
            corpus.row(prompt="p" * (MAX_PROMPT_CHARS + 5), end_user_id="u" * 1_000),
            corpus.row(event_id="e2", prompt="short"),
        ],
    )
    result = ingest(src, tmp_path / "out")
    assert result.accepted == 2
    events = open_events(result.out).to_table().sort_by("event_id")
    assert [len(p) for p in events.column("prompt").to_pylist()] == [MAX_PROMPT_CHARS, 5]
    assert len(events.column("end_user_id")[0].as_py()) == MAX_ID_CHARS
    assert result.summary["truncated"] == {"end_user_id": 1, "prompt": 1}


def test_limits_are_parameters_reported_in_the_summary(tmp_path, corpus):
    src = _write(
        tmp_path / "x.jsonl", corpus, [corpus.row(), corpus.row(event_id="e2", account_id="acct-long")]
    )
    options = ValidationOptions(max_id_chars=6, max_prompt_chars=10, max_text_chars=20)
    result = ingest(src, tmp_path / "out", options=options)
    assert (result.accepted, result.quarantined_by_reason["field_too_long"]) == (1, 1)
    limits = json.loads((tmp_path / "out" / "ingest_summary.json").read_text())["thresholds"]
    assert {k: limits[k] for k in ("max_id_chars", "max_prompt_chars", "max_text_chars")} == {
        "max_id_chars": 6,
        "max_prompt_chars": 10,
        "max_text_chars": 20,
    }


def test_epoch_seconds_get_a_unit_hint(tmp_path, corpus):
    src = _write(
        tmp_path / "x.jsonl", corpus, [corpus.row(timestamp=1_767_225_600), corpus.row(event_id="e2")]
    )
    [bad] = _quarantine(src)
    assert bad["reason"] == "bad_timestamp"
    assert "looks like epoch seconds" in bad["detail"] and "unit: s" in bad["detail"]


def test_fractional_tokens_name_the_column(tmp_path, corpus):
    src = _write(
        tmp_path / "x.jsonl",
        corpus,
        [
            corpus.row(output_tokens=12.5),
            corpus.row(event_id="e2", tool_count="three"),
            corpus.row(event_id="e3"),
        ],
    )
    details = [(r["reason"], r["detail"]) for r in _quarantine(src)]
    assert details == [
        ("malformed_row", "output_tokens: 12.5 is not a whole number"),
        ("malformed_row", "tool_count: 'three' is not an integer"),
    ]


def test_empty_input_is_an_error_with_exit_2(tmp_path, cli):
    src = tmp_path / "empty.jsonl"
    src.write_bytes(b"")
    done = cli("ingest", str(src), "--out", str(tmp_path / "out"), "--quiet")
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "no rows in the input" in lines[0]


def test_all_garbage_input_exits_2_and_keeps_the_quarantine(tmp_path, cli):
    src = tmp_path / "junk.jsonl"
    src.write_bytes(b"garbage\n\x00\x01\x02\n[1, 2]\n")
    done = cli("ingest", str(src), "--out", str(tmp_path / "out"), "--quiet")
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "all 3 rows read were quarantined (3 malformed_row)" in lines[0]
    assert pq.read_table(tmp_path / "out" / "quarantine.parquet").num_rows == 3


def test_api_raises_when_nothing_is_accepted_unless_told_not_to(tmp_path, corpus):
    src = _write(tmp_path / "x.jsonl", corpus, [corpus.row(input_tokens=-1)])
    try:
        ingest(src, tmp_path / "out")
    except NoEventsAccepted as err:
        assert "1 negative_tokens" in str(err)
    else:
        raise AssertionError("no error for an ingest that accepted nothing")
    assert ingest(src, tmp_path / "out2", require_events=False).quarantined == 1
