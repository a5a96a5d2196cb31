"""LiteLLM preset and column-mapping files (YAML and TOML), including the shipped examples."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pyarrow as pa
import pytest

from distillguard.errors import DistillguardError
from distillguard.ingest import ingest, iter_event_batches, load_mapping, open_events

EXAMPLES = Path(__file__).resolve().parents[2] / "src" / "distillguard" / "ingest" / "examples"
HASHED = hashlib.sha256(b"sk-live-1").hexdigest()


def _spend_rows() -> list[dict]:
    msgs = [{"role": "system", "content": "grader"}, {"role": "user", "content": "Grade this answer 1-10."}]
    base = {
        "startTime": "2026-01-01T00:00:00.000Z",
        "endTime": "2026-01-01T00:00:02.500Z",
        "model": "frontier-1",
        "prompt_tokens": 11,
        "completion_tokens": 22,
        "requester_ip_address": "192.0.2.10",
        "messages": json.dumps(msgs),
        "status": "success",
        "spend": 0.002,
        "metadata": {"user_api_key_alias": "ci"},
    }
    return [
        {
            **base,
            "request_id": "r1",
            "api_key": HASHED,
            "user": "u1",
            "team_id": "t1",
            "organization_id": "o1",
        },
        {
            **base,
            "request_id": "r2",
            "api_key": HASHED,
            "user": "u2",
            "team_id": "t1",
            "organization_id": None,
        },
        {
            **base,
            "request_id": "r3",
            "api_key": "sk-raw-key",
            "user": None,
            "team_id": "",
            "organization_id": None,
            "status": "failure",
        },
    ]


def _events(inputs, **kw) -> pa.Table:
    return pa.concat_tables([pa.Table.from_batches([a]) for a, _ in iter_event_batches(inputs, **kw)])


@pytest.mark.parametrize("suffix", [".jsonl", ".parquet"])
def test_litellm_spend_logs(tmp_path, write, suffix):
    rows = _spend_rows()
    if suffix == ".parquet":
        rows = [{**r, "metadata": json.dumps(r["metadata"])} for r in rows]
    table = _events(write(tmp_path / f"spend{suffix}", rows), format="litellm")
    got = {r["event_id"]: r for r in table.to_pylist()}
    assert got["r1"]["account_id"] == "o1"
    assert got["r2"]["account_id"] == "t1"
    raw_hash = hashlib.sha256(b"sk-raw-key").hexdigest()
    assert got["r3"]["account_id"] == f"key:{raw_hash}"  # raw keys never land unhashed
    assert got["r1"]["api_key_id"] == HASHED
    assert "api_key" not in table.column_names and "messages" not in table.column_names
    assert got["r1"]["status"] == "ok" and got["r3"]["status"] == "error"
    assert got["r1"]["end_user_id"] == "u1"
    assert got["r1"]["duration_ms"] == 2500
    assert got["r1"]["prompt"] == "Grade this answer 1-10."
    assert got["r1"]["system_prompt"] == "grader"
    assert got["r1"]["input_tokens"] == 11 and got["r1"]["client_ip"] == "192.0.2.10"
    assert "spend" in table.column_names


def test_litellm_account_choice(tmp_path, write):
    path = write(tmp_path / "spend.jsonl", _spend_rows())
    by_team = _events(path, format="litellm", account_from="team")
    assert by_team.column("account_id").to_pylist() == ["t1", "t1"]  # r3 has no team -> quarantined
    by_key = _events(path, format="litellm", account_from="api_key")
    assert by_key.column("account_id").to_pylist()[0] == f"key:{HASHED}"
    with pytest.raises(DistillguardError, match="litellm"):
        list(iter_event_batches(path, account_from="team"))


def test_yaml_and_toml_mappings_agree(tmp_path, write):
    rows = [
        {
            "req": {"id": f"r{i}", "ts": 1_767_225_600 + i},
            "org": None if i % 2 else f"o{i}",
            "team": "tm",
            "usage": {"prompt_tokens": i, "completion_tokens": 2 * i},
            "model_name": "m",
            "ip": "192.0.2.1",
            "auth_header": "secret",
            "latency_ms": 100 + i,
            "region": "eu",
        }
        for i in range(4)
    ]
    src = write(tmp_path / "gw.jsonl", rows)
    yaml_result = _events(src, mapping=EXAMPLES / "gateway_logs.yaml")
    toml = tmp_path / "gw.toml"
    toml.write_text(
        """
format = "jsonl"
keep_unmapped = true
drop = ["auth_header"]
[columns]
event_id = "req.id"
timestamp = "req.ts"
account_id = ["org", "team"]
model = "model_name"
input_tokens = "usage.prompt_tokens"
output_tokens = "usage.completion_tokens"
client_ip = "ip"
duration_ms = "latency_ms"
gateway_region = "region"
[timestamp]
unit = "s"
[constants]
provider = "acme-ai"
[defaults]
status = "ok"
"""
    )
    toml_result = _events(src, mapping=toml)
    assert yaml_result.to_pylist() == toml_result.to_pylist()
    first = yaml_result.to_pylist()[1]
    assert first["account_id"] == "tm" and yaml_result.to_pylist()[0]["account_id"] == "o0"
    assert first["timestamp"].isoformat() == "2026-01-01T00:00:01+00:00"
    assert first["provider"] == "acme-ai" and first["status"] == "ok"
    assert first["gateway_region"] == "eu" and first["duration_ms"] == 101
    assert "auth_header" not in yaml_result.column_names


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("columns: {event_id: 5}\n", "column name"),
        ("colums: {}\n", "unknown key"),
        ("timestamp: {unit: minutes}\n", "timestamp.unit"),
        ("timestamp: {origin: soon}\n", "ISO 8601"),
        ("preset: splunk\n", "preset"),
        ("- a\n- b\n", "top level"),
        ("columns: [unclosed\n", "invalid YAML"),
    ],
)
def test_mapping_mistakes_are_one_line_errors(tmp_path, text, message):
    path = tmp_path / "m.yaml"
    path.write_text(text)
    with pytest.raises(DistillguardError, match=message) as info:
        load_mapping(path)
    assert "\n" not in str(info.value)


def test_missing_mapping_file(tmp_path):
    with pytest.raises(DistillguardError, match="cannot read mapping"):
        load_mapping(tmp_path / "nope.yaml")


def test_shipped_examples_load():
    names = sorted(p.name for p in EXAMPLES.iterdir())
    assert names == ["azure_llm_trace.yaml", "gateway_logs.yaml", "mooncake_trace.toml"]
    for p in EXAMPLES.iterdir():
        load_mapping(p)


def test_real_azure_trace_with_example_mapping(tmp_path, shared_data):
    src = shared_data / "llm_traces" / "AzureLLMInferenceTrace_code.csv"
    result = ingest(src, tmp_path / "out", mapping=EXAMPLES / "azure_llm_trace.yaml")
    assert result.rows_read == 8_819 and result.accepted == 8_819
    assert result.first_event.startswith("2023-11-16T18:17")
    table = open_events(result.out).to_table(columns=["event_id", "input_tokens"])
    assert table.column("event_id")[0].as_py() == "AzureLLMInferenceTrace_code.csv:2"


def test_real_mooncake_trace_with_example_mapping(tmp_path, shared_data):
    src = shared_data / "llm_traces" / "mooncake_conversation_trace.jsonl"
    result = ingest(src, tmp_path / "out", mapping=EXAMPLES / "mooncake_trace.toml")
    assert result.rows_read == 12_031 and result.quarantined == 0
    assert result.first_event == "2024-06-01T00:00:00Z"
    hashes = open_events(result.out).to_table(columns=["hash_ids"]).column("hash_ids")[0].as_py()
    assert json.loads(hashes)[:3] == [0, 1, 2]
