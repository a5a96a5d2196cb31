"""Request bodies -> (accepted events, quarantined rows) through ingest's own validator.

Why ingest's readers and not a parallel parser: the server must accept exactly what
``distillguard ingest`` accepts and quarantine the rest with the same reasons, so a body
is written to a private temporary file and read by ingest's ``IngestRun`` (NDJSON as
``jsonl``, OTLP as ``otel``: the same span mapping the file ingest uses). OTLP protobuf
is first turned into the protobuf JSON mapping (ids as base64, which the OTel reader
decodes).

Body-level problems (bad gzip, not UTF-8, larger than the limit, no line that is JSON)
raise :class:`BadBody` (HTTP 400/413 with one line); row-level problems are quarantine
rows with a reason and a detail.
"""

from __future__ import annotations

import gzip
import json
import os
import tempfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from distillguard.schema import QUARANTINE_SCHEMA


class BadBody(Exception):
    """A body that cannot be read as a whole: one line, an HTTP status."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status

    def __reduce__(self) -> tuple[type, tuple[str, int]]:  # crosses the decode process pool
        return (BadBody, (str(self), self.status))


@dataclass
class Decoded:
    events: pa.Table | None
    quarantine: pa.Table
    rows_read: int
    skipped_spans: int = 0
    reasons: dict[str, int] = field(default_factory=dict)

    @property
    def accepted(self) -> int:
        return 0 if self.events is None else self.events.num_rows


def inflate(body: bytes, encoding: str | None, limit: int) -> bytes:
    """The body with its Content-Encoding undone (gzip/deflate/identity), at most ``limit`` bytes."""
    enc = (encoding or "identity").strip().lower()
    if enc in ("", "identity"):
        data = body
    elif enc in ("gzip", "x-gzip"):
        try:
            with gzip.GzipFile(fileobj=_Bytes(body)) as fh:
                data = fh.read(limit + 1)
        except (OSError, EOFError, zlib.error) as err:
            raise BadBody(f"body is not valid gzip: {err}") from None
    elif enc == "deflate":
        try:
            d = zlib.decompressobj()
            data = d.decompress(body, limit + 1)
        except zlib.error as err:
            raise BadBody(f"body is not valid deflate: {err}") from None
    else:
        raise BadBody(f"unsupported Content-Encoding {enc!r} (use gzip or none)", 415)
    if len(data) > limit:
        raise BadBody(f"body is larger than {limit} bytes once decompressed", 413)
    return data


class _Bytes:
    """Minimal file object over bytes for GzipFile (io.BytesIO copies large bodies)."""

    def __init__(self, data: bytes) -> None:
        self._view = memoryview(data)
        self._pos = 0

    def read(self, n: int = -1) -> bytes:
        end = len(self._view) if n is None or n < 0 else min(len(self._view), self._pos + n)
        out = bytes(self._view[self._pos : end])
        self._pos = end
        return out


def _run(tmp_dir: Path, body: bytes, suffix: str, fmt: str, source: str) -> Decoded:
    from distillguard.ingest._run import IngestRun

    fd, name = tempfile.mkstemp(suffix=suffix, dir=tmp_dir)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(body)
        events: list[pa.Table] = []
        bad: list[pa.Table] = []
        run = IngestRun(name, format=fmt)
        for accepted, rejected in run:
            if accepted.num_rows:
                events.append(pa.Table.from_batches([accepted]))
            if rejected.num_rows:
                bad.append(rejected)
        read, skipped = run.stats.rows_read, run.stats.skipped_spans
    finally:
        os.unlink(name)
    quarantine = pa.concat_tables(bad) if bad else QUARANTINE_SCHEMA.empty_table()
    if quarantine.num_rows:
        quarantine = quarantine.set_column(
            quarantine.schema.get_field_index("source"),
            QUARANTINE_SCHEMA.field("source"),
            pa.array([source] * quarantine.num_rows, pa.string()),
        )
    table = pa.concat_tables(events, promote_options="permissive") if events else None
    reasons: dict[str, int] = {}
    if quarantine.num_rows:
        counts = pc.value_counts(quarantine["reason"]).to_pylist()
        reasons = {c["values"]: int(c["counts"]) for c in counts}
    return Decoded(table, quarantine, read, skipped, reasons)


def decode_ndjson(tmp_dir: Path, body: bytes, source: str) -> Decoded:
    """Event schema v1 rows, one JSON object per line."""
    if not body.strip():
        raise BadBody("empty body: send one JSON object per line (event schema v1)")
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as err:
        raise BadBody(f"body is not UTF-8 (byte {err.start})") from None
    out = _run(tmp_dir, body, ".ndjson", "jsonl", source)
    if out.accepted == 0 and out.rows_read and out.reasons.get("malformed_row", 0) == out.rows_read:
        raise BadBody("no line of the body is a JSON object: send NDJSON (event schema v1)")
    return out


def decode_otlp(tmp_dir: Path, body: bytes, content_type: str, source: str) -> Decoded:
    """An OTLP/HTTP ``ExportTraceServiceRequest`` (protobuf or JSON) -> GenAI span events."""
    ctype = content_type.split(";", 1)[0].strip().lower()
    if ctype in ("application/x-protobuf", "application/protobuf"):
        doc = _protobuf_to_json(body)
    elif ctype == "application/json":
        try:
            doc = json.loads(body)
        except (ValueError, RecursionError) as err:
            raise BadBody(f"body is not JSON: {str(err).splitlines()[0][:200]}") from None
    else:
        raise BadBody(
            f"Content-Type {ctype or 'missing'}: send application/x-protobuf or application/json", 415
        )
    if not isinstance(doc, dict) or not isinstance(doc.get("resourceSpans", doc.get("resource_spans")), list):
        if isinstance(doc, dict) and not doc:
            return Decoded(None, QUARANTINE_SCHEMA.empty_table(), 0)
        raise BadBody("not an OTLP ExportTraceServiceRequest: no resourceSpans list")
    line = json.dumps(doc, separators=(",", ":")).encode("utf-8") + b"\n"
    return _run(tmp_dir, line, ".json", "otel", source)


def _protobuf_to_json(body: bytes) -> dict:
    from google.protobuf import json_format
    from google.protobuf.message import DecodeError
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    msg = ExportTraceServiceRequest()
    try:
        msg.ParseFromString(body)
    except (DecodeError, RuntimeError, ValueError) as err:
        raise BadBody(f"body is not an OTLP protobuf ExportTraceServiceRequest: {err}") from None
    return json_format.MessageToDict(msg)


def quarantine_preview(table: pa.Table, limit: int) -> list[dict[str, object]]:
    """The first ``limit`` quarantined rows for a response (raw text cut to 200 characters)."""
    rows = table.slice(0, limit).select(["reason", "row_number", "event_id", "detail", "raw"]).to_pylist()
    for r in rows:
        raw = r.get("raw")
        if isinstance(raw, str) and len(raw) > 200:
            r["raw"] = raw[:200] + "..."
    return rows
