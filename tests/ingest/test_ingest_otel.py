"""OTel: real OTLP/JSON exports written by the OpenTelemetry SDK, then ingested."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest
from opentelemetry.trace import Status, StatusCode

from distillguard.ingest import ingest, iter_event_batches, open_events

T0 = 1_767_225_600_000_000_000  # 2026-01-01T00:00:00Z in ns


def _build(tracer) -> None:
    messages = [
        {"role": "system", "parts": [{"type": "text", "content": "You are terse."}]},
        {"role": "user", "parts": [{"type": "text", "content": "Explain your reasoning step by step."}]},
    ]
    span = tracer.start_span(
        "chat frontier-1",
        start_time=T0,
        attributes={
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": "acme",
            "gen_ai.request.model": "frontier-1",
            "gen_ai.response.id": "chatcmpl-1",
            "gen_ai.usage.input_tokens": 120,
            "gen_ai.usage.output_tokens": 900,
            "gen_ai.usage.reasoning.output_tokens": 700,
            "gen_ai.request.temperature": 0.2,
            "gen_ai.conversation.id": "conv-9",
            "gen_ai.input.messages": json.dumps(messages),
            "user.id": "org-42",
            "client.address": "198.51.100.23",
            "user_agent.original": "python-httpx/0.27",
        },
    )
    span.end(end_time=T0 + 1_500_000_000)
    legacy = tracer.start_span(
        "chat frontier-0",
        start_time=T0 + 60_000_000_000,
        attributes={
            "gen_ai.system": "acme",
            "gen_ai.request.model": "frontier-0",
            "gen_ai.usage.prompt_tokens": 5,
            "gen_ai.usage.completion_tokens": 7,
            "user.id": "org-7",
            "gen_ai.input.messages": [json.dumps({"role": "user", "content": "hi there"})],
        },
    )
    legacy.set_status(Status(StatusCode.ERROR, "upstream timeout"))
    legacy.end(end_time=T0 + 61_000_000_000)
    http = tracer.start_span("GET /v1/models", start_time=T0, attributes={"http.request.method": "GET"})
    http.end(end_time=T0 + 1_000_000)
    bad = tracer.start_span(
        "chat frontier-1",
        start_time=T0,
        attributes={
            "gen_ai.request.model": "frontier-1",
            "gen_ai.usage.input_tokens": -4,
            "gen_ai.usage.output_tokens": 1,
            "user.id": "org-42",
        },
    )
    bad.end(end_time=T0 + 1)


@pytest.fixture
def export(tmp_path, otel_export):
    return otel_export(tmp_path / "traces.jsonl", _build)


def test_sdk_export_is_ingested(tmp_path, export):
    result = ingest(export, tmp_path / "out", format="otel")
    assert result.rows_read == 3  # three GenAI spans; the HTTP span is not a row...
    assert result.skipped_non_genai_spans == 1  # ...but it is reported
    assert result.accepted == 2
    assert result.quarantined_by_reason["negative_tokens"] == 1
    table = open_events(result.out).to_table().sort_by("timestamp")
    first, second = table.to_pylist()
    assert first["event_id"] == "chatcmpl-1"
    assert first["account_id"] == "org-42"
    assert first["model"] == "frontier-1"
    assert (first["input_tokens"], first["output_tokens"], first["reasoning_output_tokens"]) == (
        120,
        900,
        700,
    )
    assert first["timestamp"].isoformat() == "2026-01-01T00:00:00+00:00"
    assert first["duration_ms"] == 1500
    assert first["client_ip"] == "198.51.100.23"
    assert first["user_agent"] == "python-httpx/0.27"
    assert first["conversation_id"] == "conv-9"
    assert first["temperature"] == pytest.approx(0.2)
    assert first["prompt"] == "Explain your reasoning step by step."
    assert first["system_prompt"] == "You are terse."
    assert first["status"] == "ok"
    assert first["service_name"] == "gateway"
    assert first["gen_ai_provider"] == "acme"
    assert len(first["trace_id"]) == 32 and len(first["span_id"]) == 16
    # legacy attribute names, span id as event id, error status, messages as an array attribute
    assert second["event_id"] == second["span_id"]
    assert (second["input_tokens"], second["output_tokens"]) == (5, 7)
    assert second["status"] == "error"
    assert second["prompt"] == "hi there"


def test_document_form_and_malformed_lines(tmp_path, export):
    lines = export.read_text().splitlines()
    doc = tmp_path / "doc.json"
    doc.write_text(json.dumps([json.loads(line) for line in lines], indent=2))
    a = [pa.Table.from_batches([b]) for b, _ in iter_event_batches(doc, format="otel")]
    assert sum(t.num_rows for t in a) == 2
    broken = tmp_path / "broken.jsonl"
    broken.write_text("\n".join([*lines, '{"resourceSpans": [', '{"no": "spans"}']) + "\n")
    result = ingest(broken, tmp_path / "out", format="otel")
    assert result.accepted == 2
    assert result.quarantined_by_reason["malformed_row"] == 2
    assert result.rows_read == result.accepted + result.quarantined


def test_mapping_overrides_the_account_attribute(tmp_path, otel_export):
    def build(tracer) -> None:
        span = tracer.start_span(
            "chat m",
            start_time=T0,
            attributes={
                "gen_ai.request.model": "m",
                "gen_ai.usage.input_tokens": 1,
                "gen_ai.usage.output_tokens": 1,
                "app.tenant": "tenant-1",
            },
        )
        span.end(end_time=T0 + 10)

    path = otel_export(tmp_path / "t.jsonl", build, service="svc")
    mapping = tmp_path / "m.yaml"
    mapping.write_text("preset: otel\ncolumns:\n  account_id: [app.tenant, resource.service.name]\n")
    result = ingest(path, tmp_path / "out", mapping=mapping)
    assert result.accepted == 1
    assert open_events(result.out).to_table().column("account_id").to_pylist() == ["tenant-1"]
    without = ingest(path, tmp_path / "out2", format="otel", require_events=False)
    assert without.quarantined_by_reason["missing_required"] == 1


def test_columnar_and_python_decoders_agree(tmp_path, export, monkeypatch):
    import distillguard.ingest._otel as otel_reader

    def events() -> tuple[list[dict], list[dict]]:
        acc, rej = [], []
        for a, q in iter_event_batches(export, format="otel"):
            acc.extend(pa.Table.from_batches([a]).to_pylist())
            rej.extend(q.drop(["raw"]).to_pylist())
        return sorted(acc, key=lambda r: r["event_id"]), rej

    calls = []
    real = otel_reader._decode_fast
    monkeypatch.setattr(otel_reader, "_decode_fast", lambda b, f: calls.append(1) or real(b, f))
    fast = events()
    assert (
        calls
        and real(*next(otel_reader.iter_line_blocks(otel_reader.SourceFile(export, "otel")))) is not None
    )
    monkeypatch.setattr(otel_reader, "_decode_fast", lambda b, f: None)
    slow = events()
    assert fast == slow
    assert len(fast[0]) == 2 and len(fast[1]) == 1


def test_structured_attribute_values_fall_back_to_the_python_decoder(tmp_path):
    span = {
        "traceId": "0af7651916cd43dd8448eb211c80319c",
        "spanId": "b7ad6b7169203331",
        "name": "chat m",
        "startTimeUnixNano": str(T0),
        "endTimeUnixNano": str(T0 + 2_000_000),
        "attributes": [
            {"key": "gen_ai.request.model", "value": {"stringValue": "m"}},
            {"key": "gen_ai.usage.input_tokens", "value": {"intValue": 3}},
            {"key": "gen_ai.usage.output_tokens", "value": {"intValue": "4"}},
            {"key": "user.id", "value": {"stringValue": "acct"}},
            {
                "key": "gen_ai.input.messages",
                "value": {
                    "arrayValue": {
                        "values": [
                            {
                                "kvlistValue": {
                                    "values": [
                                        {"key": "role", "value": {"stringValue": "user"}},
                                        {"key": "content", "value": {"stringValue": "structured"}},
                                    ]
                                }
                            }
                        ]
                    }
                },
            },
        ],
    }
    export = {"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}]}
    path = tmp_path / "t.jsonl"
    path.write_text(json.dumps(export) + "\n")
    (row,) = [
        r for b, _ in iter_event_batches(path, format="otel") for r in pa.Table.from_batches([b]).to_pylist()
    ]
    assert row["prompt"] == "structured"
    assert row["event_id"] == "b7ad6b7169203331" and row["duration_ms"] == 2
    assert (row["input_tokens"], row["output_tokens"]) == (3, 4)
