"""Fuzz targets: a Hypothesis strategy and a property check per entry point.

Shared by the pytest suite (``tests/fuzz/test_fuzz_generated.py``) and the campaign runner
(``bench/fuzz.py``). Every check runs one generated input through the public Python API in
a scratch directory and raises :class:`Finding` when a property breaks:

- no exception but :class:`DistillguardError`, and that one is a single line;
- ingest conserves rows: ``accepted + quarantined == rows read == rows written`` and the
  rows read are exactly the records the generator wrote (lines, CSV records, GenAI spans);
  accepted string account ids are kept exact;
- scan reports one row per account it accepted, scores in [0, 1], known verdicts;
- intel import never stops on a bad bundle and never uses more indicators than it was given;
  what it does not use is counted as skipped (nothing dropped silently);
- evaluate reports finite metrics and counts every labelled account.

Segfaults cannot be caught in-process: ``bench/fuzz.py`` runs each target in a child process
and the corpus (``fuzz_corpus.py``) runs the CLI in a subprocess.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import strategies as st

from distillguard.errors import DistillguardError

#: Deepest JSON nesting the generated inputs use. Deeper inputs (the issue's 10,000 levels)
#: crash native code, which only a subprocess survives: they live in the corpus.
MAX_GENERATED_DEPTH = 300
#: Most rows per generated file: properties show on small files, and small files are fast.
MAX_ROWS = 12
BASE_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z


class Finding(AssertionError):
    """A property of the hardening contract broke on one input.

    ``signature`` names the failure without the input's values (exception type and the
    innermost distillguard frame, or the broken property), so a campaign can count distinct bugs.
    """

    def __init__(self, message: str, signature: str | None = None) -> None:
        super().__init__(message)
        self.signature = signature or _SIGNATURE_DIGITS.sub("N", message.split(":")[0])


_SIGNATURE_DIGITS = re.compile(r"\d+")


def _where(err: BaseException) -> str:
    """``module.py:function`` of the innermost traceback frame inside distillguard."""
    import traceback

    place = "the fuzz harness (not distillguard)"
    for frame in traceback.extract_tb(err.__traceback__):
        if "/distillguard/" in frame.filename.replace("\\", "/"):
            place = f"{Path(frame.filename).name}:{frame.name}"
    return place


# ---------------------------------------------------------------- values


#: Hand-picked hostile strings: spreadsheet formulas, line breaks, full-width '=', bidi,
#: NUL, a 10,000-character id (the issue's cases), quotes and delimiters.
HOSTILE_TEXT: tuple[str, ...] = (
    "",
    " ",
    "=1+1",
    '=HYPERLINK("http://x.invalid","x")',
    "+1",
    "-1",
    "@SUM(A1)",
    "\t=1",
    "\r=1",
    "\n=1",
    "＝1+1",
    "a\nb",
    "a\r\nb",
    "'q",
    '"',
    ",",
    "\x00",
    "\u202eevil",
    "\u2028",
    "x" * 10_000,
)
TEXT = st.one_of(st.sampled_from(HOSTILE_TEXT), st.text(max_size=12))
#: Timestamps in every unit and shape a log might carry.
TIMESTAMPS = st.one_of(
    st.integers(BASE_MS, BASE_MS + 86_400_000 * 3),  # epoch ms (the spec)
    st.integers(1_700_000_000, 1_800_000_000),  # epoch seconds
    st.integers(1_700_000_000_000_000, 1_800_000_000_000_000),  # epoch microseconds
    st.floats(1.7e9, 1.8e9),  # fractional epoch seconds
    st.integers(-(2**70), 2**70),
    st.sampled_from(
        [
            "2026-01-01T00:00:00Z",
            "2026-01-01T00:00:00.123456789+05:30",
            "2026-01-01",
            "2026-01-01 12:00:00",
            "1767225600",
            " 2026-01-01T00:00:00Z ",
            "2026-02-30T00:00:00Z",
            "0000-01-01T00:00:00Z",
            "9999-12-31T23:59:59Z",
            "yesterday",
            "",
        ]
    ),
)
TOKENS = st.one_of(
    st.integers(0, 10**6),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),  # fractional token floats
    st.sampled_from(["12", "12.5", "1e3", "-0", " 7 ", "many"]),
)
IPS = st.one_of(st.ip_addresses().map(str), st.sampled_from(["1.2.3", "::g", "", "256.1.1.1", "10.0.0.1/24"]))
JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    TEXT,
    st.recursive(
        st.one_of(st.none(), st.integers(-5, 5), st.text(max_size=3)),
        lambda inner: st.one_of(
            st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=3), inner, max_size=3)
        ),
        max_leaves=8,
    ),
)
#: Text files only: a cell holding the raw byte 0xFF (invalid UTF-8), written through
#: ``surrogateescape``.
INVALID_UTF8 = "a\udcffb"
FILE_TEXT = st.one_of(TEXT, st.just(INVALID_UTF8))
_GOOD: dict[str, st.SearchStrategy[Any]] = {
    "timestamp": TIMESTAMPS,
    "account_id": FILE_TEXT,
    "model": st.sampled_from(["m1", "m2"]),
    "input_tokens": TOKENS,
    "output_tokens": TOKENS,
    "client_ip": IPS,
    "prompt": FILE_TEXT,
    "user_agent": TEXT,
    "stream": st.one_of(st.booleans(), st.sampled_from(["true", "no", "maybe"])),
    "account_created_at": TIMESTAMPS,
}
_COLUMNS = [*_GOOD, "extra"]


@st.composite
def event_rows(draw: st.DrawFn, *, max_rows: int = MAX_ROWS) -> list[dict[str, Any]]:
    """Rows that are mostly events, with hostile or junk values in any column.

    ``event_id`` is unique per row (``e<i>``) unless the draw repeats one on purpose, so
    accepted rows can be traced back to the row that produced them.
    """
    rows = []
    for i in range(draw(st.integers(0, max_rows))):
        row: dict[str, Any] = {"event_id": f"e{i}" if draw(st.integers(0, 9)) else draw(JUNK)}
        for name in _COLUMNS:
            pick = draw(st.integers(0, 9))
            if pick == 0:
                continue  # column absent from this row
            good = _GOOD.get(name)
            row[name] = draw(good) if good is not None and pick > 2 else draw(JUNK)
        rows.append(row)
    return rows


def _json(value: Any) -> str:
    """JSON text as loggers write it (NaN and Infinity included, as Python emits them)."""
    return json.dumps(value, ensure_ascii=False, allow_nan=True)


def nested_text(depth: int, kind: str) -> str:
    """A JSON value nested ``depth`` levels (written as text: json.dumps recurses)."""
    if kind == "list":
        return "[" * depth + "0" + "]" * depth
    return '{"a":' * depth + "0" + "}" * depth


# ---------------------------------------------------------------- checks shared by ingest targets


def _one_line(err: DistillguardError) -> None:
    if "\n" in str(err) or "\r" in str(err):
        raise Finding(f"DistillguardError message is not one line: {str(err)[:200]!r}")


def _ingest_and_check(
    path: Path,
    tmp: Path,
    *,
    expected_rows: int | None,
    fmt: str = "auto",
    exact: dict[str, str] | None = None,
    mapping: Path | None = None,
) -> dict[str, Any] | None:
    """Ingest ``path``; check conservation; returns the summary (None after a user error)."""
    from distillguard.ingest import ingest, open_events

    out = tmp / "out"
    try:
        result = ingest(path, out, format=fmt, mapping=mapping)
    except DistillguardError as err:
        _one_line(err)
        return None
    summary = json.loads((out / "ingest_summary.json").read_text(encoding="utf-8"))
    read, accepted, quarantined = summary["rows_read"], summary["accepted"], summary["quarantined"]
    if accepted + quarantined != read:
        raise Finding(f"rows lost: accepted {accepted} + quarantined {quarantined} != read {read}")
    if (result.rows_read, result.accepted, result.quarantined) != (read, accepted, quarantined):
        raise Finding("IngestResult and ingest_summary.json disagree")
    if sum(summary["quarantined_by_reason"].values()) != quarantined:
        raise Finding(f"quarantine reasons do not add up: {summary['quarantined_by_reason']}")
    written_q = pq.read_metadata(out / "quarantine.parquet").num_rows
    if written_q != quarantined:
        raise Finding(f"quarantine.parquet holds {written_q} rows, summary says {quarantined}")
    events = open_events(out).to_table(columns=["event_id", "account_id"])
    if events.num_rows != accepted:
        raise Finding(f"events hold {events.num_rows} rows, summary says {accepted} accepted")
    if expected_rows is not None and read != expected_rows:
        raise Finding(f"rows read {read} != {expected_rows} records in the input")
    for event_id, account in zip(
        events["event_id"].to_pylist(), events["account_id"].to_pylist(), strict=True
    ):
        if exact is not None and event_id in exact and account != exact[event_id]:
            raise Finding(f"account id changed on the way in: {exact[event_id][:60]!r} -> {account[:60]!r}")
    return summary


def _exact_ids(rows: list[dict[str, Any]]) -> dict[str, str]:
    """event_id -> account_id for rows whose ids are unique strings (traceable after ingest)."""
    ids = [r.get("event_id") for r in rows]
    return {
        r["event_id"]: r["account_id"]
        for r in rows
        if isinstance(r.get("event_id"), str)
        and ids.count(r["event_id"]) == 1
        and isinstance(r.get("account_id"), str)
    }


# ---------------------------------------------------------------- ingest: JSON lines

_GARBAGE_LINES = st.one_of(
    st.text(max_size=20).filter(lambda s: "\n" not in s),
    st.sampled_from(
        [
            "{",
            "[1,2]",
            "null",
            '{"a":',
            "  ",
            '"str"',
            "{}",
            '{"account_id": "\\ud800"}',
            '{"a":1}{"b":2}',
            '{"a":1}\r{"b":2}',
            '{"a": NaN}',
            '{"a": 1e999}',
            '{"a": 123456789012345678901234567890}',
            '{"a": 1, "a": "x"}',
            "\ufeff{}",
            "\x0c",
        ]
    ),
)


@st.composite
def jsonl_inputs(draw: st.DrawFn) -> dict[str, Any]:
    rows = draw(event_rows())
    lines = [_json(r) for r in rows]
    for line in draw(st.lists(_GARBAGE_LINES, max_size=4)):
        lines.insert(draw(st.integers(0, len(lines))), line)
    if draw(st.integers(0, 4)) == 0:  # a nested value at a moderate depth
        depth = draw(st.integers(1, MAX_GENERATED_DEPTH))
        deep = nested_text(depth, draw(st.sampled_from(["list", "dict"])))
        lines.insert(draw(st.integers(0, len(lines))), '{"event_id":"deep","x":' + deep + "}")
    ending = draw(st.sampled_from(["\n", "\r\n", ""]))
    return {"rows": rows, "text": "\n".join(lines) + ending, "gz": draw(st.integers(0, 5)) == 0}


def _solid_lines(data: bytes) -> int:
    return sum(1 for line in data.split(b"\n") if line.strip())


def check_jsonl(case: dict[str, Any], tmp: Path) -> None:
    import gzip

    data = case["text"].encode("utf-8", "surrogateescape")
    path = tmp / ("x.jsonl.gz" if case["gz"] else "x.jsonl")
    path.write_bytes(gzip.compress(data) if case["gz"] else data)
    _ingest_and_check(path, tmp, expected_rows=_solid_lines(data), exact=_exact_ids(case["rows"]))


# ---------------------------------------------------------------- ingest: CSV


def _cell(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else _json(value)


@st.composite
def csv_inputs(draw: st.DrawFn) -> dict[str, Any]:
    rows = draw(event_rows())
    delimiter = draw(st.sampled_from([",", "\t", ";"]))
    names = list(dict.fromkeys(["event_id", *(k for r in rows for k in r)]))
    records = [[_cell(r.get(n)) for n in names] for r in rows]
    for _ in range(draw(st.integers(0, 3))):  # ragged records: wrong number of fields
        width = draw(st.sampled_from([1, len(names) + 1, len(names) + 3]))
        records.insert(draw(st.integers(0, len(records))), [draw(FILE_TEXT) or "x" for _ in range(width)])
    buf = io.StringIO()
    # QUOTE_MINIMAL leaves a bare CR unquoted unless CR is part of the line terminator.
    style = draw(st.sampled_from([("\r\n", csv.QUOTE_MINIMAL), ("\n", csv.QUOTE_ALL)]))
    writer = csv.writer(buf, delimiter=delimiter, lineterminator=style[0], quoting=style[1])
    writer.writerow(names)
    for rec in records:
        writer.writerow(rec)
    return {"rows": rows, "text": buf.getvalue(), "records": len(records), "delimiter": delimiter}


def check_csv(case: dict[str, Any], tmp: Path) -> None:
    suffix = {",": ".csv", "\t": ".tsv", ";": ".csv"}[case["delimiter"]]
    path = tmp / f"x{suffix}"
    path.write_bytes(case["text"].encode("utf-8", "surrogateescape"))
    mapping = None
    if case["delimiter"] == ";":  # a delimiter only a mapping file names
        mapping = tmp / "m.yaml"
        mapping.write_text("format: csv\ndelimiter: ';'\ncolumns: {}\n")
    _ingest_and_check(
        path, tmp, expected_rows=case["records"], exact=_exact_ids(case["rows"]), mapping=mapping
    )


# ---------------------------------------------------------------- ingest: a directory of mixed files


@st.composite
def mixed_inputs(draw: st.DrawFn) -> dict[str, Any]:
    """A JSONL and a CSV file in one directory: duplicates and extra-column types span files."""
    return {"jsonl": draw(jsonl_inputs()), "csv": draw(csv_inputs())}


def check_mixed(case: dict[str, Any], tmp: Path) -> None:
    import gzip

    folder = tmp / "logs"
    folder.mkdir()
    j, c = case["jsonl"], case["csv"]
    data = j["text"].encode("utf-8", "surrogateescape")
    (folder / ("a.jsonl.gz" if j["gz"] else "a.jsonl")).write_bytes(gzip.compress(data) if j["gz"] else data)
    name = "b.tsv" if c["delimiter"] == "\t" else "b.csv"  # ';' read as ',': records unknown
    (folder / name).write_bytes(c["text"].encode("utf-8", "surrogateescape"))
    expected = None if c["delimiter"] == ";" else _solid_lines(data) + c["records"]
    _ingest_and_check(folder, tmp, expected_rows=expected)


# ---------------------------------------------------------------- ingest: Parquet

_PARQUET_TYPES: dict[str, tuple[pa.DataType, st.SearchStrategy[Any]]] = {
    "string": (pa.string(), st.one_of(st.none(), st.sampled_from(HOSTILE_TEXT), st.text(max_size=8))),
    "large_string": (pa.large_string(), st.one_of(st.none(), st.text(max_size=8))),
    "int64": (pa.int64(), st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1))),
    "int8": (pa.int8(), st.one_of(st.none(), st.integers(-128, 127))),
    "uint64": (pa.uint64(), st.one_of(st.none(), st.integers(0, 2**64 - 1))),
    "float64": (pa.float64(), st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True))),
    "bool": (pa.bool_(), st.one_of(st.none(), st.booleans())),
    "ts_s": (pa.timestamp("s"), st.one_of(st.none(), st.integers(-(2**40), 2**40))),
    "ts_ms_utc": (pa.timestamp("ms", tz="UTC"), st.one_of(st.none(), st.integers(-(2**50), 2**50))),
    "ts_ns_tz": (pa.timestamp("ns", tz="Asia/Kolkata"), st.one_of(st.none(), st.integers(-(2**62), 2**62))),
    "date32": (pa.date32(), st.one_of(st.none(), st.integers(-(10**6), 10**6))),
    "binary": (pa.binary(), st.one_of(st.none(), st.binary(max_size=8))),
    "list_int": (pa.list_(pa.int64()), st.one_of(st.none(), st.lists(st.integers(-9, 9), max_size=3))),
    "struct": (
        pa.struct([("a", pa.string()), ("b", pa.int64())]),
        st.one_of(st.none(), st.fixed_dictionaries({"a": st.text(max_size=3), "b": st.integers(-9, 9)})),
    ),
    "null": (pa.null(), st.none()),
}
_PARQUET_COLUMNS = [
    "event_id",
    "timestamp",
    "account_id",
    "model",
    "input_tokens",
    "output_tokens",
    "client_ip",
    "account_created_at",
    "temperature",
    "stream",
    "extra",
]


@st.composite
def parquet_inputs(draw: st.DrawFn) -> dict[str, Any]:
    n = draw(st.integers(0, MAX_ROWS))
    columns: dict[str, pa.Array] = {}
    for name in draw(st.lists(st.sampled_from(_PARQUET_COLUMNS), unique=True, min_size=1)):
        kind = draw(st.sampled_from(sorted(_PARQUET_TYPES)))
        if name == "event_id" and draw(st.booleans()):
            columns[name] = pa.array([f"e{i}" for i in range(n)])
            continue
        dtype, values = _PARQUET_TYPES[kind]
        columns[name] = pa.array(draw(st.lists(values, min_size=n, max_size=n)), dtype)
    if "timestamp" not in columns and draw(st.booleans()):
        columns["timestamp"] = pa.array([BASE_MS + i for i in range(n)], pa.timestamp("ms", tz="UTC"))
    return {"table": pa.table(columns), "cut": draw(st.one_of(st.none(), st.integers(0, 4096)))}


def check_parquet(case: dict[str, Any], tmp: Path) -> None:
    table: pa.Table = case["table"]
    path = tmp / "x.parquet"
    pq.write_table(table, path)
    if case["cut"] is not None:  # a truncated file: a clear error or a full read, never a crash
        data = path.read_bytes()
        path.write_bytes(data[: case["cut"] % (len(data) + 1)])
        _ingest_and_check(path, tmp, expected_rows=None)
        return
    exact = None
    if (
        "event_id" in table.column_names
        and "account_id" in table.column_names
        and pa.types.is_string(table.schema.field("account_id").type)
    ):
        exact = _exact_ids(table.select(["event_id", "account_id"]).to_pylist())
    _ingest_and_check(path, tmp, expected_rows=table.num_rows, exact=exact)


# ---------------------------------------------------------------- ingest: OTel spans

_OTEL_KEYS = st.sampled_from(
    [
        "gen_ai.request.model",
        "gen_ai.response.id",
        "gen_ai.usage.input_tokens",
        "gen_ai.usage.output_tokens",
        "gen_ai.operation.name",
        "gen_ai.prompt",
        "user.id",
        "client.address",
        "http.route",
        "db.system",
        "",
    ]
)
_ANY_VALUE = st.one_of(
    st.builds(lambda s: {"stringValue": s}, TEXT),
    st.builds(
        lambda i: {"intValue": i}, st.one_of(st.integers(-(2**70), 2**70).map(str), st.integers(), TEXT)
    ),
    st.builds(lambda f: {"doubleValue": f}, st.floats(allow_nan=False)),
    st.builds(lambda b: {"boolValue": b}, st.booleans()),
    st.builds(
        lambda v: {"arrayValue": {"values": v}},
        st.lists(st.builds(lambda s: {"stringValue": s}, TEXT), max_size=2),
    ),
    st.builds(
        lambda k, v: {"kvlistValue": {"values": [{"key": k, "value": {"stringValue": v}}]}}, TEXT, TEXT
    ),
    st.builds(lambda b: {"bytesValue": b}, st.sampled_from(["AAEC", "!!", ""])),
    JUNK,
)


@st.composite
def _span(draw: st.DrawFn) -> tuple[dict[str, Any], bool]:
    attrs = [{"key": draw(_OTEL_KEYS), "value": draw(_ANY_VALUE)} for _ in range(draw(st.integers(0, 5)))]
    genai = any(a["key"].startswith("gen_ai.") for a in attrs)
    span = {
        "traceId": draw(
            st.sampled_from(["5b8efff798038103d269b633813fc60c", "W47/95gDgQPSabYzgT/GDA==", "zz", ""])
        ),
        "spanId": draw(st.sampled_from(["eee19b7ec3c1b174", "7uGbfsPBsXQ=", "x"])),
        "name": draw(TEXT),
        "startTimeUnixNano": draw(st.one_of(st.integers(0, 2**64).map(str), TIMESTAMPS, st.none())),
        "endTimeUnixNano": draw(st.one_of(st.integers(0, 2**64).map(str), st.none())),
        "attributes": attrs,
        "status": draw(st.sampled_from([{}, {"code": 1}, {"code": "STATUS_CODE_ERROR"}, {"code": None}])),
    }
    return span, genai


@st.composite
def otel_inputs(draw: st.DrawFn) -> dict[str, Any]:
    lines: list[str] = []
    genai = other = bad = 0
    for _ in range(draw(st.integers(0, 5))):
        if draw(st.integers(0, 5)) == 0:
            lines.append(draw(st.sampled_from(["{", "not json", '{"resourceSpans": 3}', "3", "null"])))
            bad += 1
            continue
        spans = [draw(_span()) for _ in range(draw(st.integers(0, 4)))]
        genai += sum(g for _, g in spans)
        other += sum(not g for _, g in spans)
        resource = {"attributes": [{"key": "user.id", "value": {"stringValue": draw(TEXT)}}]}
        export = {
            "resourceSpans": [
                {
                    "resource": resource,
                    "scopeSpans": [{"scope": {"name": "s"}, "spans": [s for s, _ in spans]}],
                }
            ]
        }
        lines.append(_json(export))
    return {"text": "\n".join(lines) + "\n", "rows": genai + bad, "skipped": other}


def check_otel(case: dict[str, Any], tmp: Path) -> None:
    path = tmp / "spans.jsonl"
    path.write_text(case["text"], encoding="utf-8")
    summary = _ingest_and_check(path, tmp, expected_rows=case["rows"], fmt="otel")
    if summary is not None and summary["skipped_non_genai_spans"] != case["skipped"]:
        raise Finding(
            f"non-GenAI spans: {summary['skipped_non_genai_spans']} counted, {case['skipped']} sent"
        )


# ---------------------------------------------------------------- scan


@st.composite
def scan_inputs(draw: st.DrawFn) -> dict[str, Any]:
    accounts = draw(st.lists(TEXT, min_size=1, max_size=4))
    rows = []
    for i in range(draw(st.integers(1, 24))):
        rows.append(
            {
                "event_id": f"e{i}",
                "timestamp": BASE_MS + draw(st.integers(0, 3 * 86_400_000)),
                "account_id": draw(st.sampled_from(accounts)),
                "model": "m1",
                "input_tokens": draw(st.integers(0, 5000)),
                "output_tokens": draw(st.integers(0, 5000)),
                "prompt": draw(st.one_of(st.none(), TEXT)),
                "client_ip": draw(st.one_of(st.none(), st.ip_addresses().map(str))),
                "user_agent": draw(st.one_of(st.none(), TEXT)),
                "payment_fingerprint": draw(st.one_of(st.none(), st.sampled_from(["pm_1", "pm_2"]))),
            }
        )
    return {"rows": rows, "report": draw(st.integers(0, 3)) == 0, "raw": draw(st.booleans())}


def check_scan(case: dict[str, Any], tmp: Path) -> None:
    from distillguard.ingest import ingest, open_events
    from distillguard.scan import scan

    src = tmp / "x.jsonl"
    src.write_text("".join(_json(r) + "\n" for r in case["rows"]), encoding="utf-8")
    try:
        ingest(src, tmp / "ev")
        source = src if case["raw"] else tmp / "ev"  # scan reads raw logs too
        result = scan(source, tmp / "scan", progress=False, replay=False, report=case["report"])
    except DistillguardError as err:
        _one_line(err)
        return
    seen = set(open_events(tmp / "ev").to_table(columns=["account_id"])["account_id"].to_pylist())
    accounts = pq.read_table(tmp / "scan" / "accounts.parquet")
    ids = accounts["account_id"].to_pylist()
    if len(ids) != len(set(ids)) or set(ids) != seen:
        raise Finding(f"scan accounts {len(set(ids))} (rows {len(ids)}) != accepted accounts {len(seen)}")
    for score in accounts["score"].to_pylist():
        if score is None or not 0.0 <= score <= 1.0:
            raise Finding(f"score {score!r} outside [0, 1]")
    if not set(accounts["verdict"].to_pylist()) <= {"attack", "suspicious", "clear"}:
        raise Finding(f"unknown verdict in {set(accounts['verdict'].to_pylist())}")
    if result.accounts.num_rows != accounts.num_rows:
        raise Finding("ScanResult and accounts.parquet disagree")
    json.loads((tmp / "scan" / "campaigns.json").read_text(encoding="utf-8"))


# ---------------------------------------------------------------- share: intel bundles

_WORLDS: dict[str, Any] = {}


def world() -> Any:
    """The process's sharing world (built on first use in a fresh scratch directory)."""
    import tempfile

    import fuzz_world

    if "w" not in _WORLDS:
        _WORLDS["w"] = fuzz_world.build_world(Path(tempfile.mkdtemp(prefix="dg-fuzz-world-")) / "w")
        _WORLDS["doc"] = _WORLDS["w"].bundle_doc()
    return _WORLDS["w"]


_MUTATIONS = st.sampled_from(
    [
        "drop_key",
        "junk_value",
        "junk_ext",
        "dup_indicator",
        "nest",
        "wrap",
        "truncate",
        "retype_objects",
        "many_hmacs",
        "none",
    ]
)
_OBJECT_KEYS = st.sampled_from(
    [
        "type",
        "id",
        "created_by_ref",
        "extensions",
        "valid_until",
        "modified",
        "revoked",
        "confidence",
        "pattern",
        "spec_version",
        "relationship_type",
        "source_ref",
        "name",
    ]
)
_EXT_KEYS = st.sampled_from(
    ["kind", "hmac", "key_id", "level", "events", "accounts", "pairs", "sketch", "signatures", "frame"]
)


@st.composite
def intel_inputs(draw: st.DrawFn) -> dict[str, Any]:
    """A list of edits to apply to the world's real bundle (applied in the check)."""
    edits = []
    for _ in range(draw(st.integers(0, 4))):
        edits.append(
            {
                "op": draw(_MUTATIONS),
                "index": draw(st.integers(0, 40)),
                "key": draw(_OBJECT_KEYS),
                "ext_key": draw(_EXT_KEYS),
                "value": draw(JUNK),
                "depth": draw(st.integers(1, MAX_GENERATED_DEPTH)),
                "cut": draw(st.integers(0, 30_000)),
                "count": draw(st.integers(0, 200)),
            }
        )
    return {"edits": edits}


def mutate_bundle(doc: dict[str, Any], edits: list[dict[str, Any]]) -> str:
    """Apply edits to a copy of a bundle; returns the file text."""
    doc = json.loads(json.dumps(doc))
    objects = doc["objects"]
    text = None
    for e in edits:
        obj = objects[e["index"] % len(objects)] if objects else {}
        exts = obj.get("extensions") if isinstance(obj, dict) else None
        ext = next(iter(exts.values()), None) if isinstance(exts, dict) else None
        op = e["op"]
        if op == "drop_key" and isinstance(obj, dict):
            obj.pop(e["key"], None)
        elif op == "junk_value" and isinstance(obj, dict):
            obj[e["key"]] = e["value"]
        elif op == "junk_ext" and isinstance(ext, dict):
            ext[e["ext_key"]] = e["value"]
        elif op == "dup_indicator" and isinstance(obj, dict):
            objects.append(json.loads(json.dumps(obj)))
        elif op == "nest" and isinstance(obj, dict):
            obj[e["key"]] = json.loads(nested_text(min(e["depth"], 200), "dict"))
        elif op == "wrap":
            doc = {"type": "bundle", "id": doc.get("id"), "objects": [doc]} if e["count"] % 2 else [doc]
            break
        elif op == "retype_objects":
            doc["objects"] = e["value"]
            break
        elif op == "many_hmacs" and isinstance(ext, dict):
            ext["hmac"] = [f"{i:064x}" for i in range(e["count"])]
    text = json.dumps(doc)
    for e in edits:
        if e["op"] == "truncate":
            text = text[: e["cut"] % (len(text) + 1)]
    return text


def _indicator_ids(text: str) -> set[str]:
    try:
        doc = json.loads(text)
    except ValueError:
        return set()
    objs = doc.get("objects") if isinstance(doc, dict) else None
    if not isinstance(objs, list):
        return set()
    return {
        json.dumps(o.get("id"), sort_keys=True)  # a mutated id may be any JSON value
        for o in objs
        if isinstance(o, dict) and o.get("type") == "indicator"
    }


def check_intel(case: dict[str, Any], tmp: Path) -> None:
    from distillguard.share import load_intel, load_keyring

    w = world()
    text = mutate_bundle(_WORLDS["doc"], case["edits"])
    path = tmp / "bundle.json"
    path.write_text(text, encoding="utf-8")
    try:
        intel = load_intel([path], load_keyring(w.key_file))
    except DistillguardError as err:
        _one_line(err)
        return
    given = len(_indicator_ids(text))
    if intel.indicators > given:
        raise Finding(f"{intel.indicators} indicators used from a bundle holding {given}")
    if intel.indicators < given and not sum(intel.skipped.values()):
        raise Finding(f"{given - intel.indicators} indicators dropped without a skip reason")


# ---------------------------------------------------------------- share match (events + intel)


def check_match(case: dict[str, Any], tmp: Path) -> None:
    import fuzz_world

    from distillguard.share import match

    w = world()
    path = tmp / "bundle.json"
    path.write_text(mutate_bundle(_WORLDS["doc"], case["edits"]), encoding="utf-8")
    try:
        res = match([path], w.events, key_file=w.key_file, out=tmp / "m", identity=fuzz_world.MATCHER)
    except DistillguardError as err:
        _one_line(err)
        return
    table = pq.read_table(tmp / "m" / "matches.parquet")
    if "events" in table.column_names and "account_events" in table.column_names:
        for row in table.select(["account_id", "events", "account_events"]).to_pylist():
            if (
                row["events"] is not None
                and row["account_events"] is not None
                and row["events"] > row["account_events"]
            ):
                raise Finding(
                    f"match counts {row['events']}/{row['account_events']} events for {row['account_id']}"
                )
    if res.accounts > len(fuzz_world.ATTACK_ACCOUNTS) + len(fuzz_world.BENIGN_ACCOUNTS):
        raise Finding(f"{res.accounts} matched accounts of a world of 8")


# ---------------------------------------------------------------- evaluate

_VERDICT = st.one_of(st.sampled_from(["attack", "suspicious", "clear"]), JUNK)


@st.composite
def evaluate_inputs(draw: st.DrawFn) -> dict[str, Any]:
    """Labels and accounts.parquet over a few accounts, with junk in any cell or column type."""
    pool = draw(st.lists(st.one_of(st.sampled_from(["a", "b", "c", "d"]), TEXT), min_size=1, max_size=6))
    labelled = draw(st.lists(st.sampled_from(pool), max_size=6))
    scanned = draw(st.lists(st.sampled_from(pool), max_size=6))
    tidy = draw(st.integers(0, 2)) > 0  # most inputs well-typed, so the metric code runs

    def cell(good: st.SearchStrategy[Any]) -> Any:
        return draw(good) if tidy or draw(st.booleans()) else draw(JUNK)

    labels = [
        {
            "account_id": a,
            "is_attack": cell(st.booleans()),
            "campaign": cell(st.one_of(st.none(), st.sampled_from(["c1", "c2", ""]))),
            "persona": cell(st.sampled_from(["fleet", "benign_hobbyist"])),
        }
        for a in labelled
    ]
    accounts = [
        {
            "account_id": a,
            "score": cell(st.floats(0, 1)),
            "verdict": cell(st.sampled_from(["attack", "suspicious", "clear"])),
            "campaign_id": cell(st.one_of(st.none(), st.sampled_from(["k1", "k2"]))),
            "flagged_at": cell(st.one_of(st.none(), st.integers(-(2**62), 2**62))),
            "exchanges": cell(st.one_of(st.none(), st.integers(0, 10**6))),
        }
        for a in scanned
    ]
    drop = draw(st.lists(st.sampled_from(["flagged_at", "exchanges", "campaign_id", "score"]), max_size=2))
    return {
        "labels": labels,
        "accounts": accounts,
        "drop": drop,
        "labels_csv": draw(st.booleans()),
        "events": draw(st.integers(0, 2)) == 0,
        # a hand-made events directory: a column of the wrong type, or an empty part file
        "events_kind": draw(
            st.sampled_from(["good", "good", "good", "text_timestamp", "int_account", "empty"])
        ),
        "n_accounts": len(accounts),
    }


def _column(values: list[Any], name: str) -> pa.Array:
    """A column of ``values``: typed when they agree, JSON text when junk mixes types."""
    try:
        arr = pa.array(values)
    except (pa.ArrowException, OverflowError, TypeError):
        return pa.array([None if v is None else _json(v) for v in values], pa.string())
    try:  # Parquet cannot store some inferred types (a struct without fields)
        pq.write_table(pa.table({name: arr}), pa.BufferOutputStream())
    except pa.ArrowException:
        return pa.array([None if v is None else _json(v) for v in values], pa.string())
    if name == "flagged_at" and pa.types.is_integer(arr.type):
        return arr.cast(pa.int64()).view(pa.timestamp("us", tz="UTC"))
    return arr


def _events_for(tmp: Path, account_ids: list[Any], kind: str) -> Path:
    ids = [a for a in account_ids if isinstance(a, str)] if kind != "empty" else []
    from distillguard.schema import EVENT_SCHEMA

    cols = ["event_id", "timestamp", "account_id", "model", "input_tokens", "output_tokens"]
    rows = {c: [] for c in cols}
    for i, a in enumerate(ids * 3):
        for c, v in zip(cols, (f"e{i}", BASE_MS * 1000 + i * 60_000_000, a, "m", 1, 1), strict=True):
            rows[c].append(v)
    rows["timestamp"] = pa.array(rows["timestamp"], pa.int64()).view(pa.timestamp("us", tz="UTC"))
    table = pa.table(rows, schema=pa.schema([EVENT_SCHEMA.field(c) for c in cols]))
    if kind == "text_timestamp":
        table = table.set_column(1, "timestamp", table["timestamp"].cast(pa.string()))
    elif kind == "int_account":
        table = table.set_column(2, "account_id", pa.array(range(table.num_rows), pa.int64()))
    day = tmp / "ev" / "events" / "day=2026-01-01"
    day.mkdir(parents=True)
    pq.write_table(table, day / "part-0.parquet")
    return tmp / "ev"


def check_evaluate(case: dict[str, Any], tmp: Path) -> None:
    from distillguard.evaluate import evaluate

    labels = pa.table(
        {
            k: _column([r[k] for r in case["labels"]], k)
            for k in ("account_id", "is_attack", "campaign", "persona")
        }
    )
    scan = tmp / "scan"
    scan.mkdir()
    names = [
        n
        for n in ("account_id", "score", "verdict", "campaign_id", "flagged_at", "exchanges")
        if n not in case["drop"]
    ]
    accounts = pa.table({k: _column([r[k] for r in case["accounts"]], k) for k in names})
    pq.write_table(accounts, scan / "accounts.parquet")
    if case["labels_csv"]:
        import pyarrow.csv as pcsv

        labels_path = tmp / "labels.csv"
        try:
            pcsv.write_csv(labels, labels_path)
        except pa.ArrowException:
            labels_path = tmp / "labels.parquet"
            pq.write_table(labels, labels_path)
    else:
        labels_path = tmp / "labels.parquet"
        pq.write_table(labels, labels_path)
    ids = [r["account_id"] for r in case["labels"]]
    events = _events_for(tmp, ids, case["events_kind"]) if case["events"] else None
    try:
        report = evaluate(labels_path, scan, events=events, out=tmp / "eval.json")
    except DistillguardError as err:
        _one_line(err)
        return
    if report["coverage"]["labelled_accounts"] != labels.num_rows:
        raise Finding(
            f"{report['coverage']['labelled_accounts']} labelled accounts counted of {labels.num_rows}"
        )
    _finite(report, "report")
    json.loads((tmp / "eval.json").read_text(encoding="utf-8"))


def _finite(value: Any, where: str) -> None:
    if isinstance(value, float) and not math.isfinite(value):
        raise Finding(f"non-finite number at {where}: {value}")
    if isinstance(value, dict):
        for k, v in value.items():
            _finite(v, f"{where}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _finite(v, f"{where}[{i}]")


# ---------------------------------------------------------------- registry


@dataclass(frozen=True)
class Target:
    """One fuzzed entry point: inputs, the property check, and its share of an example budget."""

    name: str
    strategy: st.SearchStrategy[Any]
    check: Callable[[Any, Path], None]
    #: Share of a campaign's examples (slow targets get fewer: a scan costs ~1 s).
    weight: float
    #: Examples in the default (fast) pytest run.
    fast_examples: int


TARGETS: dict[str, Target] = {
    t.name: t
    for t in (
        Target("ingest_jsonl", jsonl_inputs(), check_jsonl, 0.17, 55),
        Target("ingest_csv", csv_inputs(), check_csv, 0.14, 40),
        Target("ingest_mixed_dir", mixed_inputs(), check_mixed, 0.05, 15),
        Target("ingest_parquet", parquet_inputs(), check_parquet, 0.16, 50),
        Target("ingest_otel", otel_inputs(), check_otel, 0.15, 40),
        Target("share_intel", intel_inputs(), check_intel, 0.16, 40),
        Target("share_match", intel_inputs(), check_match, 0.03, 6),
        Target("evaluate", evaluate_inputs(), check_evaluate, 0.13, 30),
        Target("scan", scan_inputs(), check_scan, 0.01, 3),
    )
}


def run_one(target: Target, value: Any, tmp: Path) -> None:
    """Run ``target``'s check on ``value``; any exception but a one-line user error is a Finding.

    An exception Python could not raise (in a callback from native code) prints
    "Exception ignored in ..." with a traceback on the user's terminal: it counts too.
    """
    import sys

    ignored: list[BaseException] = []
    previous = sys.unraisablehook
    sys.unraisablehook = lambda info: ignored.append(info.exc_value)  # type: ignore[assignment]
    try:
        _run_checked(target, value, tmp)
    finally:
        sys.unraisablehook = previous
    if ignored:
        err = ignored[0]
        name = type(err).__name__
        raise Finding(f"exception ignored in a callback: {name}: {str(err)[:200]}", f"ignored {name}")


def _run_checked(target: Target, value: Any, tmp: Path) -> None:
    try:
        target.check(value, tmp)
    except Finding:
        raise
    except DistillguardError as err:  # raised outside the checks' own try blocks
        _one_line(err)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as err:  # Rust panics (polars, rensa) are BaseExceptions
        if type(err).__module__.startswith("hypothesis"):
            raise
        first = (str(err).strip().splitlines() or [""])[0]
        name = type(err).__name__
        raise Finding(f"uncaught {name} at {_where(err)}: {first[:200]}", f"{name} at {_where(err)}") from err
