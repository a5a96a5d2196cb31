"""Per-account behavioural features over the whole input and rolling windows.

Input: the normalized enriched-event view (:func:`register_events`). Output: one Arrow row
per account with the columns in :data:`FEATURE_COLUMNS`. Detectors read only this table
(and, for cross-account evidence, the same view), so the relational work stays in SQL.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from distillguard.features._prepare import VIEW_COLUMNS, register_events

__all__ = ["FEATURE_COLUMNS", "VIEW_COLUMNS", "FeatureParams", "compute_features", "register_events"]


@dataclass(frozen=True)
class FeatureParams:
    """Knobs of the feature queries (each is reported in scan_meta.json)."""

    session_gap_s: float = field(
        default=1800.0,
        metadata={"doc": "inter-arrival gaps longer than this (s) are session breaks, not think time"},
    )
    fast_gap_s: float = field(
        default=2.0, metadata={"doc": "a gap shorter than this (s) leaves no human think time"}
    )
    periodic_tol: float = field(
        default=0.1, metadata={"doc": "a gap within this relative distance of the median gap is periodic"}
    )
    rare_fp_share: float = field(
        default=0.005, metadata={"doc": "a TLS fingerprint used by at most this share of accounts is rare"}
    )
    new_model_margin_h: float = field(
        default=6.0, metadata={"doc": "models first seen later than this after the input starts are new"}
    )
    pivot_window_h: float = field(
        default=24.0, metadata={"doc": "hours after a model's first appearance that count as a pivot"}
    )

    def documented(self) -> dict[str, dict[str, Any]]:
        """``{name: {value, doc}}`` for scan_meta.json."""
        docs = {f.name: f.metadata.get("doc", "") for f in self.__dataclass_fields__.values()}
        return {k: {"value": v, "doc": docs[k]} for k, v in asdict(self).items()}


#: Every feature column, in output order.
FEATURE_COLUMNS: tuple[str, ...] = (
    "account_id",
    "n",
    "first_ts",
    "last_ts",
    "span_h",
    "in_tok",
    "out_tok",
    "reason_tok",
    "out_in_ratio",
    "reasoning_share",
    "out_per_req",
    "tier",
    "country",
    "payment",
    "provider",
    "created_at",
    "age_first_use_h",
    "active_hours",
    "active_days",
    "tool_share",
    "models",
    "peak_sec_n",
    "peak_min_n",
    "peak_hour_n",
    "peak_day_n",
    "active_hour_buckets",
    "gap_n",
    "gap_cv",
    "gap_median",
    "fast_gap_share",
    "periodic_share",
    "tmpl_n",
    "families",
    "top1_share",
    "top3_share",
    "top_family",
    "tagged_n",
    "cot_share",
    "extraction_share",
    "cap_top_share",
    "capabilities",
    "top_capability",
    "ips",
    "prefixes",
    "asns",
    "ip_countries",
    "user_agents",
    "tls_fps",
    "hosting_share",
    "relay_share",
    "residential_share",
    "unknown_ip_share",
    "country_mismatch_share",
    "rare_tls_share",
    "pivot_share",
    "pivot_n",
)


def compute_features(con: Any, src: str = "ev", params: FeatureParams | None = None) -> Any:
    """Per-account features of the events in view ``src`` as a pyarrow Table (sorted by id)."""
    from distillguard.features import _sql

    p = params or FeatureParams()
    fmt = {"src": src, **asdict(p)}
    parts = {
        "base": _sql.BASE,
        "peaks": _sql.PEAKS,
        "timing": _sql.TIMING,
        "content": _sql.CONTENT,
        "infra": _sql.INFRA,
        "pivot": _sql.PIVOT,
    }
    ctes = ",\n".join(f"f_{name} AS ({sql.format(**fmt)})" for name, sql in parts.items())
    query = f"""
    WITH {ctes}
    SELECT f_base.account_id, n, first_ts, last_ts, span_h, in_tok, out_tok, reason_tok,
           (out_tok + 1) / (in_tok + 1) AS out_in_ratio,
           reason_tok / greatest(out_tok, reason_tok, 1) AS reasoning_share,
           out_tok / n AS out_per_req,
           coalesce(tier, 'unknown') AS tier, country, payment, provider, created_at,
           (epoch_ms(first_ts) - epoch_ms(created_at)) / 3.6e6 AS age_first_use_h,
           active_hours, active_days, tool_share, models,
           peak_sec_n::BIGINT AS peak_sec_n, peak_min_n::BIGINT AS peak_min_n,
           peak_hour_n::BIGINT AS peak_hour_n, peak_day_n::BIGINT AS peak_day_n, active_hour_buckets,
           coalesce(gap_n, 0) AS gap_n, gap_cv, gap_median, fast_gap_share, periodic_share,
           coalesce(tmpl_n, 0)::BIGINT AS tmpl_n, coalesce(families, 0) AS families, top1_share, top3_share,
           top_family, coalesce(tagged_n, 0) AS tagged_n, cot_share, extraction_share,
           cap_top_share, coalesce(capabilities, 0) AS capabilities, top_capability,
           ips, prefixes, asns, ip_countries, user_agents, tls_fps, hosting_share, relay_share,
           residential_share, unknown_ip_share, country_mismatch_share, rare_tls_share,
           coalesce(pivot_share, 0.0) AS pivot_share, coalesce(pivot_n, 0)::BIGINT AS pivot_n
    FROM f_base
    JOIN f_peaks USING (account_id)
    LEFT JOIN f_timing USING (account_id)
    LEFT JOIN f_content USING (account_id)
    JOIN f_infra USING (account_id)
    LEFT JOIN f_pivot USING (account_id)
    ORDER BY f_base.account_id
    """
    return _stable(con.sql(query).to_arrow_table())


#: Decimal places kept on float features: parallel aggregation sums in a varying order, and
#: the last bits must not decide a verdict (same input, same bytes out).
FLOAT_DECIMALS = 9


def _stable(table: Any) -> Any:
    import pyarrow as pa
    import pyarrow.compute as pc

    cols = []
    for name in table.column_names:
        col = table[name]
        if pa.types.is_floating(col.type):
            col = pc.round(col, FLOAT_DECIMALS)
        cols.append(col)
    return pa.table(cols, names=table.column_names)
