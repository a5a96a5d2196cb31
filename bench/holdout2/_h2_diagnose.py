"""Failure diagnosis from a scan directory and the labels (no detector code is imported).

Everything is read from the scan output contract: ``accounts.parquet`` (verdict, score,
reasons, campaign) and ``signals.parquet`` (signal, strength, value, threshold, evidence).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

#: Verdict that counts as a detection; ``suspicious`` is reported beside it (review load).
POSITIVE = "attack"
#: How many example evidence strings to keep per (persona, signal).
EVIDENCE_EXAMPLES = 1


def _con(data: Path, scan: Path) -> Any:
    import duckdb

    con = duckdb.connect()
    con.execute(f"create view labels as select * from read_parquet('{data / 'labels.parquet'}')")
    con.execute(f"create view acc as select * from read_parquet('{scan / 'accounts.parquet'}')")
    sig = scan / "signals.parquet"
    if sig.exists():
        con.execute(f"create view sig as select * from read_parquet('{sig}')")
    else:  # an older scan without signals: keep the queries valid
        con.execute(
            "create view sig as select ''::varchar account_id, ''::varchar family, ''::varchar signal, "
            "0.0 strength, 0.0 value, 0.0 threshold, ''::varchar evidence where false"
        )
    con.execute(
        """create view j as select l.account_id, l.is_attack, l.persona, l.campaign,
                  coalesce(a.verdict, 'clear') verdict, coalesce(a.score, 0) score, a.campaign_id, a.reasons,
                  a.exchanges
           from labels l left join acc a using (account_id)"""
    )
    return con


def persona_rates(data: Path, scan: Path) -> list[dict[str, Any]]:
    """Per persona: accounts, flagged (verdict attack), suspicious, and recall or FPR."""
    con = _con(data, scan)
    rows = con.execute(
        f"""select persona, bool_or(is_attack) attack, count(*) n,
                   sum((verdict = '{POSITIVE}')::int) flagged, sum((verdict = 'suspicious')::int) susp
            from j group by persona order by attack desc, persona"""
    ).fetchall()
    return [
        {"persona": p, "attack": a, "accounts": n, "flagged": f, "suspicious": s, "rate": f / n if n else 0.0}
        for p, a, n, f, s in rows
    ]


def _signal_summary(con: Any, where: str) -> list[tuple]:
    return con.execute(
        f"""select j.persona, s.family, s.signal, count(distinct s.account_id) accounts,
                   round(median(s.value), 3) med_value, any_value(s.threshold) threshold,
                   round(avg(s.strength), 2) strength, any_value(s.evidence) example
            from j join sig s using (account_id) where {where}
            group by all order by j.persona, accounts desc"""
    ).fetchall()


def false_positives(data: Path, scan: Path, verdict: str = POSITIVE) -> dict[str, Any]:
    """Benign accounts with ``verdict``: per persona the reasons and the signals behind them."""
    con = _con(data, scan)
    where = f"not j.is_attack and j.verdict = '{verdict}'"
    reasons = con.execute(
        f"""select persona, reason, count(*) c
            from (select persona, unnest(reasons) reason from j where {where})
            group by all order by persona, c desc"""
    ).fetchall()
    per = con.execute(
        f"""select persona, count(*), round(avg(score), 3), count(distinct campaign_id)
            from j where {where} group by persona order by 2 desc"""
    ).fetchall()
    return {"personas": per, "reasons": reasons, "signals": _signal_summary(con, where)}


def misses(data: Path, scan: Path) -> dict[str, Any]:
    """Attack accounts not flagged: their verdicts, scores and the (too weak) evidence they had."""
    con = _con(data, scan)
    where = f"j.is_attack and j.verdict <> '{POSITIVE}'"
    per = con.execute(
        f"""select persona, count(*), sum((verdict = 'suspicious')::int), round(median(score), 3),
                   round(max(score), 3), median(exchanges), sum((campaign_id is not null)::int)
            from j where {where} group by persona order by 2 desc"""
    ).fetchall()
    silent = con.execute(
        f"""select persona, count(*) from j where {where}
            and account_id not in (select account_id from sig) group by persona"""
    ).fetchall()
    return {"personas": per, "no_signal": dict(silent), "signals": _signal_summary(con, where)}


def evidence_coverage(data: Path, scan: Path) -> list[tuple]:
    """Attack accounts by persona, verdict and which evidence their log source kept: any
    prompt text, any TLS fingerprint. Separates "the detector missed it" from "the data
    could not show it" (a miss confined to text-less accounts is a metadata-only gap)."""
    con = _con(data, scan)
    con.execute(
        f"""create view cov as select account_id, bool_or(prompt is not null) has_text,
                   bool_or(tls_fingerprint is not null) has_tls
            from read_parquet('{data / "events"}/*/*.parquet') group by account_id"""
    )
    return con.execute(
        f"""select persona, has_text, has_tls, count(*) n, sum((verdict = '{POSITIVE}')::int) flagged
            from j join cov using (account_id) where is_attack group by all order by all"""
    ).fetchall()


def campaign_mix(data: Path, scan: Path) -> list[tuple]:
    """Predicted campaigns: size and which true campaigns / benign personas they hold."""
    con = _con(data, scan)
    return con.execute(
        """select campaign_id, sum(c) n, string_agg(holder || ':' || c, ', ' order by c desc) holds,
                  sum(case when benign then c else 0 end) benign
           from (select campaign_id, coalesce(campaign, persona) holder, not bool_or(is_attack) benign,
                        count(*) c
                 from j where campaign_id is not null group by all)
           group by campaign_id order by n desc"""
    ).fetchall()
