"""signals_from_matches as Ibis expressions: the same signals as the DuckDB SQL it replaced,
and a strength that does not depend on the order of the match rows."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa
import pytest

from distillguard import _duck
from distillguard.schema import SIGNALS_SCHEMA
from distillguard.share._hashing import arrow, duck
from distillguard.share._match_core import MATCH_SCHEMA
from distillguard.share.intel import FAMILY, IntelParams, signals_from_matches

T0 = datetime(2026, 3, 1, tzinfo=UTC)
KINDS = ("payment", "template", "ip", "ip24", "tls", "ua", "frame", "unweighted")
#: Partner ids and their names (one partner has none: its name is null in the matches).
PARTNERS = {"p0": "Alpha AI", "p1": "Beta Labs", "p2": "Gamma", "p3": "Delta", "p4": "Epsilon", "p5": None}
CONFIDENCES = (None, 0.2, 0.35, 0.45, 0.5, 0.65, 0.7, 0.75, 0.9, 0.93, 1.0)
PARAMS = (
    IntelParams(),
    IntelParams(
        full_confidence=0.65,
        default_confidence=0.45,
        min_partners=2,
        min_weak_partners=3,
        kind_min_partners={"ip": 2, "tls": 4},
        member_max_ratio=5.0,
        value_max_ratio=3.0,
        full_coverage=0.3,
        max_strength=0.8,
    ),
    IntelParams(
        min_weak_partners=1, kind_min_partners={}, kind_weight={"payment": 0.6, "frame": 0.33, "ua": 0.1}
    ),
)


_PER_PARTNER = """
WITH m AS (
    SELECT _m.*, coalesce(_m.confidence, $default_conf) AS conf,
           kind <> 'payment' AND (
             (member_events IS NOT NULL AND events > $ratio * greatest(member_events, 1.0))
             OR (pair_events IS NOT NULL
                 AND events > $value_ratio * matched_values * greatest(pair_events, 1.0))
           ) AS heavy
    FROM _m
), eff AS (
    SELECT m.*, CASE WHEN heavy THEN 0.0 ELSE _w.w * least(1.0, conf / $full_conf) END AS e
    FROM m JOIN _w USING (kind)
)
SELECT account_id, kind, partner_id, any_value(partner_name) AS partner_name,
       max(e) AS e, max(CASE WHEN e > 0 THEN conf END) AS conf, bool_and(heavy) AS heavy,
       sum(CASE WHEN e > 0 THEN matched_values ELSE 0 END) AS vals,
       max(CASE WHEN e > 0 THEN events ELSE 0 END) AS ev, max(account_events) AS total,
       min(first_seen) FILTER (WHERE e > 0) AS fs, max(last_seen) FILTER (WHERE e > 0) AS ls,
       max(jaccard) FILTER (WHERE e > 0) AS jac
FROM eff GROUP BY 1, 2, 3
"""

_PER_KIND = """
WITH per AS (
    SELECT account_id, kind, count(*) FILTER (WHERE e > 0) AS partners,
           count(*) FILTER (WHERE heavy) AS heavy_partners,
           string_agg(DISTINCT partner_name, ', ' ORDER BY partner_name) FILTER (WHERE e > 0) AS names,
           1 - exp(sum(ln(1 - least(e, 0.999)))) AS pooled, max(conf) AS max_conf, min(conf) AS min_conf,
           sum(vals) AS vals, max(ev) AS ev, max(total) AS total, min(fs) AS fs, max(ls) AS ls,
           max(jac) AS jac
    FROM _p GROUP BY 1, 2
)
SELECT per.* FROM per LEFT JOIN _k USING (kind)
WHERE partners >= greatest($min_partners, coalesce(_k.min_partners, 0))
  AND (max_conf >= $full_conf OR partners >= $min_weak)
"""


def old_signals_from_matches(matches: pa.Table, params: IntelParams) -> pa.Table:
    """The DuckDB SQL version this module replaced (the reference; copied as it was, with the
    session zone pinned to UTC so its dates do not depend on this machine's zone)."""
    if not len(matches):
        return SIGNALS_SCHEMA.empty_table()
    con = duck()
    con.execute("SET TimeZone = 'UTC'")
    con.register("_m", matches)
    con.register(
        "_w",
        pa.table({"kind": list(params.kind_weight), "w": [float(v) for v in params.kind_weight.values()]}),
    )
    per_partner = arrow(
        con,
        _PER_PARTNER,
        {
            "default_conf": params.default_confidence,
            "ratio": params.member_max_ratio,
            "value_ratio": params.value_max_ratio,
            "full_conf": params.full_confidence,
        },
    )
    con.register("_p", per_partner)
    con.register(
        "_k",
        pa.table(
            {
                "kind": pa.array(list(params.kind_min_partners), pa.string()),
                "min_partners": pa.array([int(v) for v in params.kind_min_partners.values()], pa.int64()),
            }
        ),
    )
    rows = arrow(
        con,
        _PER_KIND,
        {
            "min_partners": params.min_partners,
            "full_conf": params.full_confidence,
            "min_weak": params.min_weak_partners,
        },
    )
    coverage = "CASE WHEN kind = 'payment' THEN 1.0 ELSE least(1.0, (ev / total) / $full) END"
    con.register("_r", rows)
    out = arrow(
        con,
        f"""
        SELECT account_id, '{FAMILY}' AS family, 'intel_' || kind || '_match' AS signal,
               least($cap, pooled * {coverage}) AS strength,
               CASE WHEN kind = 'template' THEN jac ELSE partners::DOUBLE END AS value,
               CASE WHEN kind = 'template' THEN $jmin
                    ELSE greatest(coalesce(_k.min_partners, 0),
                                  CASE WHEN max_conf >= $full_conf THEN $min_partners
                                       ELSE $min_weak END)::DOUBLE END AS threshold,
               partners || ' independent partner(s) (' || names || '), confidence '
                 || CASE WHEN min_conf = max_conf THEN round(100 * max_conf)::INT::VARCHAR
                         ELSE round(100 * min_conf)::INT || '-' || round(100 * max_conf)::INT END
                 || ': ' || vals || ' keyed ' || kind || ' value(s), '
                 || ev || '/' || total || ' events, ' || strftime(fs, '%Y-%m-%d') || '..'
                 || strftime(ls, '%Y-%m-%d')
                 || CASE WHEN kind = 'template' THEN ', Jaccard ' || round(jac, 2) ELSE '' END
                 || CASE WHEN heavy_partners > 0
                         THEN '; ' || heavy_partners || ' partner(s) ignored: heavy user' ELSE '' END
                 AS evidence
        FROM _r LEFT JOIN _k USING (kind) ORDER BY account_id, strength DESC, signal
        """,
        {
            "cap": params.max_strength,
            "full": params.full_coverage,
            "jmin": params.sketch.min_jaccard,
            "min_partners": params.min_partners,
            "min_weak": params.min_weak_partners,
            "full_conf": params.full_confidence,
        },
    )
    con.close()
    return out.cast(SIGNALS_SCHEMA)


def random_matches(seed: int, rows: int = 160) -> pa.Table:
    """A MATCH_SCHEMA table: several accounts, kinds (one without a weight), partners
    (several indicators each, one without a name), confidences above, below and at
    ``full_confidence`` and null, heavy users by member and by pair volume, repeated values."""
    rng = np.random.default_rng(seed)
    accounts = [f"acc-{i}" for i in range(6)]
    totals = {a: int(rng.integers(20, 400)) for a in accounts}
    out = []
    for _ in range(rows):
        acc = accounts[int(rng.integers(len(accounts)))]
        kind = KINDS[int(rng.integers(len(KINDS)))]
        partner = list(PARTNERS)[int(rng.integers(len(PARTNERS)))]
        events = int(rng.integers(1, totals[acc] + 1))
        start = T0 + timedelta(hours=float(rng.integers(0, 24 * 20)), minutes=float(rng.integers(0, 60)))
        conf = CONFIDENCES[int(rng.integers(len(CONFIDENCES)))]
        if rng.random() < 0.2:
            conf = float(rng.uniform(0.05, 1.0))
        out.append(
            {
                "account_id": acc,
                "partner_id": partner,
                "partner_name": PARTNERS[partner],
                "kind": kind,
                "indicator_id": f"{partner}-{kind}-{int(rng.integers(3))}",
                "campaign_ref": None,
                "matched_values": int(rng.integers(1, 6)),
                "events": events,
                "account_events": totals[acc],
                "first_seen": start,
                "last_seen": start + timedelta(hours=float(rng.integers(0, 24 * 5))),
                "jaccard": float(rng.choice([0.5, 0.625, 0.75, 0.8, 0.875, 1.0]))
                if kind == "template"
                else None,
                "level": "campaign" if conf is not None and conf >= 0.7 else "suspicious",
                "confidence": conf,
                "member_events": None
                if rng.random() < 0.3
                else float(rng.choice([0.5, 1.0, 2.0, 8.0, 30.0])),
                "pair_events": None if rng.random() < 0.5 else float(rng.choice([0.5, 1.5, 4.0, 20.0])),
            }
        )
    return pa.Table.from_pylist(out, schema=MATCH_SCHEMA)


def assert_same_signals(new: pa.Table, ref: pa.Table) -> None:
    """Everything equal, strength to 1e-12 relative (the pooled sum adds in another order)."""
    assert new.schema == ref.schema == SIGNALS_SCHEMA
    a, b = new.to_pylist(), ref.to_pylist()
    assert [(r["account_id"], r["signal"]) for r in a] == [(r["account_id"], r["signal"]) for r in b]
    for x, y in zip(a, b, strict=True):
        assert math.isclose(x.pop("strength"), y.pop("strength"), rel_tol=1e-12, abs_tol=0.0), (x, y)
        assert x == y


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("params", PARAMS, ids=["default", "strict", "weak"])
def test_same_signals_as_the_sql_version(seed: int, params: IntelParams) -> None:
    matches = random_matches(seed)
    new = signals_from_matches(matches, params)
    assert len(new) >= 3  # the tables are built so that several kinds fire
    assert_same_signals(new, old_signals_from_matches(matches, params))
    rows = new.to_pylist()
    assert {r["family"] for r in rows} == {FAMILY}
    assert rows == sorted(rows, key=lambda r: (r["account_id"], -r["strength"], r["signal"]))


def test_evidence_text() -> None:
    """Confidences in percent rounded half away from zero, counts without a decimal point,
    dates as UTC days, the Jaccard to two decimals, the heavy partners left out."""
    base = random_matches(0, rows=1).to_pylist()[0]
    day = datetime(2026, 3, 1, 23, 30, tzinfo=UTC)
    common = {**base, "account_id": "acc", "kind": "template", "matched_values": 3, "events": 30}
    common |= {"account_events": 40, "first_seen": day, "last_seen": day + timedelta(days=2)}
    common |= {"jaccard": 0.875, "member_events": None, "pair_events": None}
    rows = [
        {**common, "partner_id": "a", "partner_name": "Beta", "indicator_id": "a1", "confidence": 0.925},
        {**common, "partner_id": "b", "partner_name": "Alpha", "indicator_id": "b1", "confidence": 0.445},
        {**common, "partner_id": "c", "partner_name": "Alpha", "indicator_id": "c1", "confidence": 0.9},
        {**common, "partner_id": "d", "partner_name": "Huge", "indicator_id": "d1", "member_events": 1.0},
    ]
    table = pa.Table.from_pylist(rows, schema=MATCH_SCHEMA)
    (sig,) = signals_from_matches(table, IntelParams()).to_pylist()
    assert sig["evidence"] == (
        "3 independent partner(s) (Alpha, Beta), confidence 45-93: 9 keyed template value(s), "
        "30/40 events, 2026-03-01..2026-03-03, Jaccard 0.88; 1 partner(s) ignored: heavy user"
    )
    assert (sig["value"], sig["threshold"]) == (0.875, IntelParams().sketch.min_jaccard)
    assert_same_signals(
        signals_from_matches(table, IntelParams()), old_signals_from_matches(table, IntelParams())
    )


@pytest.mark.parametrize("seed", range(4))
def test_row_order_does_not_change_a_bit(seed: int) -> None:
    """Shuffled and re-chunked match rows give the same table, strength bit for bit."""
    matches = random_matches(100 + seed, rows=400)
    params = IntelParams(min_weak_partners=1, kind_min_partners={})
    want = signals_from_matches(matches, params)
    rng = np.random.default_rng(seed)
    for _ in range(3):
        shuffled = matches.take(pa.array(rng.permutation(len(matches))))
        cut = int(rng.integers(1, len(matches)))
        chunked = pa.concat_tables([shuffled.slice(0, cut), shuffled.slice(cut)])
        got = signals_from_matches(chunked, params)
        assert got.equals(want)
        assert got["strength"].to_numpy().tobytes() == want["strength"].to_numpy().tobytes()


def test_empty_and_unweighted_matches() -> None:
    empty = MATCH_SCHEMA.empty_table()
    assert signals_from_matches(empty, IntelParams()).equals(SIGNALS_SCHEMA.empty_table())
    assert signals_from_matches(empty, IntelParams()).equals(old_signals_from_matches(empty, IntelParams()))
    only = random_matches(1).filter(pa.compute.equal(random_matches(1)["kind"], "unweighted"))
    assert len(only) and not len(signals_from_matches(only, IntelParams()))
    assert not len(old_signals_from_matches(only, IntelParams()))


def test_runs_on_a_given_backend_and_leaves_its_tables_alone() -> None:
    matches = random_matches(2)
    be = _duck.backend()
    try:
        be.create_table("mine", obj=pa.table({"x": [1]}), temp=True)
        got = signals_from_matches(matches, IntelParams(), con=be)
        assert got.equals(signals_from_matches(matches, IntelParams()))
        # (Ibis 12's list_tables fails on DuckDB 2: DuckDB's own catalog function)
        assert be.con.sql("SELECT table_name FROM duckdb_tables()").fetchall() == [("mine",)]
    finally:
        be.disconnect()
