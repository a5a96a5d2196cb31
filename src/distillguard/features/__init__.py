"""Per-account behavioural features over the whole input and rolling windows.

Input: the normalized enriched-event view (:func:`register_events`). Output: one Arrow row
per account with the columns in :data:`FEATURE_COLUMNS`. Detectors read only this table
(and, for cross-account evidence, the same view). The queries are Ibis expressions
(``_ibis_exprs``: stage 1 partials; ``_ibis_grid``: stage 2 running sums and derived
features), written once: the scan runs them on its DuckDB connection, and
:func:`build_timeline` takes any other Ibis backend holding the same event table (tested on
PySpark; Ibis 12's Polars backend compiles neither window aggregates nor inequality joins).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from distillguard.features._prepare import VIEW_COLUMNS, register_events
from distillguard.features._timeline import Timeline, build_timeline

__all__ = [
    "FEATURE_COLUMNS",
    "VIEW_COLUMNS",
    "FeatureParams",
    "Timeline",
    "build_timeline",
    "compute_features",
    "register_events",
]


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
        default=0.1,
        metadata={"doc": "a gap within this relative distance of the previous gap continues a period"},
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
    night_start_h: int = field(
        default=23,
        metadata={"doc": "local hour of the billing country from which its night (sleep window) runs"},
    )
    night_end_h: int = field(
        default=7,
        metadata={"doc": "local hour of the billing country at which its night ends (off-hours share)"},
    )
    minority_model_share: float = field(
        default=0.1,
        metadata={
            "doc": "a model present from the start with less than this share of traffic is a minority one"
        },
    )

    def documented(self) -> dict[str, dict[str, Any]]:
        """``{name: {value, doc}}`` for scan_meta.json."""
        docs = {f.name: f.metadata.get("doc", "") for f in self.__dataclass_fields__.values()}
        return {k: {"value": v, "doc": docs[k]} for k, v in asdict(self).items()}


#: Every feature column, in output order (``aid`` is the integer key of ``account_id``).
FEATURE_COLUMNS: tuple[str, ...] = (
    "account_id",
    "aid",
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
    "fast_gap_share",
    "periodic_share",
    "tmpl_n",
    "families",
    "family_concentration",
    "tagged_n",
    "cot_share",
    "extraction_share",
    "cap_top_share",
    "top_capability",
    "capabilities",
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
    "tz_n",
    "night_share",
    "minority_model_share",
    "pivot_share",
    "pivot_n",
)


def compute_features(con: Any, src: str = "ev", params: FeatureParams | None = None) -> Any:
    """Per-account features of the whole event table ``src`` (sorted by id).

    Convenience for a single pass; the scan uses :func:`build_timeline`, whose last
    checkpoint is exactly this table.
    """
    return build_timeline(con, src, [], params or FeatureParams()).at()
