"""Prometheus metrics of one server (its own registry: two servers in a process don't mix)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: Latency buckets in seconds: risk lookups live in the sub-millisecond range.
LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)


@dataclass
class Metrics:
    registry: Any
    requests: Any
    latency: Any
    events_accepted: Any
    events_quarantined: Any
    risk_lookups: Any
    increments: Any
    increment_seconds: Any
    wal_backlog: Any
    risk_accounts: Any
    watermark: Any
    webhooks: Any

    @classmethod
    def create(cls) -> Metrics:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        reg = CollectorRegistry()
        return cls(
            registry=reg,
            requests=Counter("dg_http_requests", "HTTP requests", ["route", "status"], registry=reg),
            latency=Histogram(
                "dg_http_request_seconds", "request latency", ["route"], buckets=LATENCY_BUCKETS, registry=reg
            ),
            events_accepted=Counter("dg_events_accepted", "events made durable", ["route"], registry=reg),
            events_quarantined=Counter(
                "dg_events_quarantined", "rows quarantined at ingest", ["route", "reason"], registry=reg
            ),
            risk_lookups=Counter("dg_risk_lookups", "accounts looked up", ["known"], registry=reg),
            increments=Counter("dg_increments", "increments run", ["result"], registry=reg),
            increment_seconds=Gauge(
                "dg_last_increment_seconds", "duration of the last increment", registry=reg
            ),
            wal_backlog=Gauge(
                "dg_wal_closed_segments", "closed segments waiting for an increment", registry=reg
            ),
            risk_accounts=Gauge("dg_risk_index_accounts", "accounts in the risk index", registry=reg),
            watermark=Gauge("dg_state_watermark_seconds", "state watermark (epoch seconds)", registry=reg),
            webhooks=Counter(
                "dg_webhook_deliveries", "webhook deliveries by outcome", ["outcome"], registry=reg
            ),
        )

    def exposition(self) -> tuple[bytes, str]:
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return generate_latest(self.registry), CONTENT_TYPE_LATEST
