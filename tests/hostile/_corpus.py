"""Hostile inputs as bytes: the cases of issue 14, built small and on the fly."""

from __future__ import annotations

import json

GOOD = {
    "event_id": "e1",
    "timestamp": "2026-01-01T00:00:00Z",
    "account_id": "acct-1",
    "model": "m",
    "input_tokens": 1,
    "output_tokens": 2,
}


def row(**patch: object) -> dict:
    return {**GOOD, **patch}


def line(record: dict) -> bytes:
    return json.dumps(record).encode() + b"\n"


def deep_list(levels: int) -> bytes:
    return b"[" * levels + b"]" * levels


def deep_object(levels: int) -> bytes:
    return b'{"a":' * levels + b"1" + b"}" * levels


def with_raw_value(record: dict, name: str, raw_json: bytes) -> bytes:
    """One JSON line of ``record`` plus a column whose value is ``raw_json`` verbatim."""
    head = json.dumps(record)[:-1].encode()
    return head + b', "' + name.encode() + b'": ' + raw_json + b"}\n"


def otel_export(attributes: list[dict], extra: bytes | None = None) -> bytes:
    """One OTLP/JSON export line with one GenAI span (``extra``: raw JSON for an extra span field)."""
    span = {
        "traceId": "5b8efff798038103d269b633813fc60c",
        "spanId": "eee19b7ec3c1b174",
        "name": "chat m",
        "startTimeUnixNano": "1767225600000000000",
        "endTimeUnixNano": "1767225601000000000",
        "attributes": [
            {"key": "gen_ai.request.model", "value": {"stringValue": "m"}},
            {"key": "gen_ai.usage.input_tokens", "value": {"intValue": "1"}},
            {"key": "gen_ai.usage.output_tokens", "value": {"intValue": "2"}},
            {"key": "user.id", "value": {"stringValue": "acct-1"}},
            *attributes,
        ],
    }
    text = json.dumps(span).encode()
    if extra is not None:
        text = text[:-1] + b', "junk": ' + extra + b"}"
    export = b'{"resourceSpans": [{"resource": {"attributes": [{"key": "service.name", "value": '
    export += b'{"stringValue": "svc"}}]}, "scopeSpans": [{"spans": [' + text + b"]}]}]}"
    return export + b"\n"
