"""OTLP/HTTP receiver: the real OpenTelemetry Python SDK exporter against the server on loopback."""

from __future__ import annotations

import gzip
import json
import re

from dg_serve_world import Server, make_tokens


def _metric(text: str, name: str) -> float:
    m = re.search(rf"^{re.escape(name)} (\S+)$", text, re.M)
    return float(m.group(1)) if m else 0.0


def test_otel_sdk_exporter_protobuf_gzip(tmp_path):
    from opentelemetry.exporter.otlp.proto.http import Compression
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    state = tmp_path / "state"
    tokens = make_tokens(state)
    srv = Server(state)
    try:
        exporter = OTLPSpanExporter(
            endpoint=srv.url + "/v1/traces",
            headers={"Authorization": f"Bearer {tokens['ingest']}"},
            compression=Compression.Gzip,
            timeout=30,
        )
        provider = TracerProvider(resource=Resource.create({"service.name": "gateway"}))
        provider.add_span_processor(BatchSpanProcessor(exporter))
        tracer = provider.get_tracer("test")
        for i in range(30):
            with tracer.start_as_current_span("chat frontier-1") as span:
                span.set_attribute("gen_ai.operation.name", "chat")
                span.set_attribute("gen_ai.request.model", "frontier-1")
                span.set_attribute("gen_ai.usage.input_tokens", 100 + i)
                span.set_attribute("gen_ai.usage.output_tokens", 300)
                span.set_attribute("user.id", f"otel-acct-{i % 3}")
        with tracer.start_as_current_span("GET /health"):  # not a GenAI span: skipped
            pass
        with tracer.start_as_current_span("chat anonymous") as span:  # GenAI without an account
            span.set_attribute("gen_ai.request.model", "frontier-1")
            span.set_attribute("gen_ai.usage.input_tokens", 1)
            span.set_attribute("gen_ai.usage.output_tokens", 1)
        assert provider.force_flush(30_000)
        provider.shutdown()
        status, text = srv.call("GET", "/metrics", tokens["read"])
        text = text.decode()
        assert _metric(text, 'dg_events_accepted_total{route="/v1/traces"}') == 30
        assert _metric(text, 'dg_events_quarantined_total{reason="missing_required",route="/v1/traces"}') == 1
        status, summary = srv.call("POST", "/v1/admin/increment", tokens["admin"])
        assert status == 200 and summary["events_new"] == 30, summary
        status, risk = srv.call("GET", "/v1/accounts/otel-acct-1/risk", tokens["read"])
        assert status == 200 and risk["known"] is True
    finally:
        srv.stop()


def test_otlp_json_gzip_body(tmp_path):
    from fastapi.testclient import TestClient

    from distillguard.serve import ServeParams
    from distillguard.serve._app import build_runtime, create_app

    state = tmp_path / "state"
    tokens = make_tokens(state)
    rt = build_runtime(state, ServeParams(), background=False)

    def span(i: int, user: str | None) -> dict:
        attrs = [
            {"key": "gen_ai.request.model", "value": {"stringValue": "frontier-1"}},
            {"key": "gen_ai.usage.input_tokens", "value": {"intValue": "12"}},
            {"key": "gen_ai.usage.output_tokens", "value": {"intValue": "34"}},
        ]
        if user:
            attrs.append({"key": "user.id", "value": {"stringValue": user}})
        return {
            "traceId": f"{i:032x}",
            "spanId": f"{i:016x}",
            "name": "chat",
            "startTimeUnixNano": str(1_772_409_600_000_000_000 + i * 1_000_000_000),
            "endTimeUnixNano": str(1_772_409_600_500_000_000 + i * 1_000_000_000),
            "attributes": attrs,
        }

    export = {"resourceSpans": [{"scopeSpans": [{"spans": [span(1, "u1"), span(2, "u2"), span(3, None)]}]}]}
    with TestClient(create_app(rt)) as client:
        r = client.post(
            "/v1/traces",
            content=gzip.compress(json.dumps(export).encode()),
            headers={
                "Authorization": f"Bearer {tokens['ingest']}",
                "Content-Type": "application/json",
                "Content-Encoding": "gzip",
            },
        )
        assert r.status_code == 200, r.text
        out = r.json()
        assert out["partialSuccess"]["rejectedSpans"] == "1"
        assert out["distillguard"]["accepted"] == 2
        assert out["distillguard"]["quarantine"][0]["reason"] == "missing_required"
