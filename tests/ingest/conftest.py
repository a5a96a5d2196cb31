"""Fixtures for the ingest tests: small valid event rows, writers per format, OTel exports."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest

BASE_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z


def make_rows(n: int, *, prefix: str = "e", start_ms: int = BASE_MS, step_ms: int = 3_600_000) -> list[dict]:
    """``n`` valid events, one per ``step_ms`` (an hour by default, so they span days)."""
    return [
        {
            "event_id": f"{prefix}{i}",
            "timestamp": start_ms + i * step_ms,
            "account_id": f"acct-{i % 3}",
            "model": "frontier-1",
            "input_tokens": 10 + i,
            "output_tokens": 100 + i,
            "client_ip": "203.0.113.7" if i % 2 else "2001:db8::1",
        }
        for i in range(n)
    ]


def _table(rows: list[dict]) -> pa.Table:
    """Rows -> table over the union of their keys (``from_pylist`` uses the first row's)."""
    names = list(dict.fromkeys(k for r in rows for k in r))
    return pa.table({k: [r.get(k) for r in rows] for k in names})


def write_rows(path: Path, rows: list[dict], *, gz: bool = False) -> Path:
    """Write rows in the format named by ``path``'s suffix (.parquet, .jsonl, .csv, .tsv)."""
    suffix = path.suffix
    if suffix == ".parquet":
        pq.write_table(_table(rows), path)
        return path
    if suffix == ".jsonl":
        text = "".join(json.dumps(r) + "\n" for r in rows)
    elif suffix in (".csv", ".tsv"):
        table = _table(rows)
        sink = pa.BufferOutputStream()
        pcsv.write_csv(
            table, sink, write_options=pcsv.WriteOptions(delimiter="\t" if suffix == ".tsv" else ",")
        )
        text = sink.getvalue().to_pybytes().decode()
    else:
        raise ValueError(suffix)
    if gz:
        target = path.with_name(path.name + ".gz")
        with gzip.open(target, "wt", encoding="utf-8") as fh:
            fh.write(text)
        return target
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def rows() -> Callable[..., list[dict]]:
    return make_rows


@pytest.fixture
def write() -> Callable[..., Path]:
    return write_rows


def otel_spans_to_jsonl(path: Path, build: Callable[[Any], None], *, service: str = "gateway") -> Path:
    """Run ``build(tracer)`` under a real OTel SDK and write OTLP/JSON exports, one per line.

    The exporter encodes with the OTLP protobuf encoder and converts with
    ``google.protobuf.json_format`` (as a collector file exporter's JSON would be),
    so the reader sees what real exports look like (int64 as strings, base64 ids).
    """
    from google.protobuf.json_format import MessageToJson
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult

    class JsonLinesExporter(SpanExporter):
        def export(self, spans):  # type: ignore[no-untyped-def]
            with path.open("a", encoding="utf-8") as fh:
                fh.write(MessageToJson(encode_spans(spans), indent=None) + "\n")
            return SpanExportResult.SUCCESS

        def shutdown(self) -> None:
            return None

    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(SimpleSpanProcessor(JsonLinesExporter()))
    build(provider.get_tracer("distillguard-tests"))
    provider.shutdown()
    return path


@pytest.fixture
def otel_export() -> Callable[..., Path]:
    return otel_spans_to_jsonl
