"""Family 3, automation and proxies: machine timing, no think time, proxy/hosting egress,
rotating IPs, fingerprint anomalies.

Why these thresholds: real API clients are bursty (ServeGen per-client inter-arrival CVs
are mostly 3-16; a Poisson client has CV 1), so a CV well below 1 over many gaps is a
scheduler, not a person. NAT-aware: relay egress (iCloud Private Relay) and many accounts on
one campus address are normal and never count as rotation; rotation means hopping across
many networks. Every signal here also fits benign automation (batch jobs, agents, CI on
cloud IPs), so this family never convicts alone (``scoring`` requires corroboration).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from distillguard.detectors._clock import off_hours
from distillguard.detectors.base import DetectionContext, Detector, param, ramp, signal_rows


class AutomationDetector(Detector):
    family = "automation"
    signals = (
        "machine_timing",
        "periodic_timing",
        "no_think_time",
        "hosting_egress",
        "ip_rotation",
        "country_mismatch",
        "rare_fingerprint",
        "off_hours_activity",
    )

    @dataclass(frozen=True)
    class Params:
        min_gaps: int = param(30, "inter-arrival gaps an account needs before its timing is judged")
        cv_threshold: float = param(
            0.5, "inter-arrival CV below this is machine-regular (Poisson = 1; real clients 3-16)"
        )
        periodic_share: float = param(
            0.5, "share of gaps within tolerance of the previous gap (a steady period) that is periodic"
        )
        fast_gap_share: float = param(0.6, "share of gaps under the think-time floor that means no human")
        min_requests: int = param(20, "requests an account needs before egress/fingerprint shares count")
        hosting_share: float = param(
            0.8, "share of traffic from datacenter egress (consumer VPN/Tor exits are not counted)"
        )
        rotation_ips_per_request: float = param(0.3, "distinct IPs per request that means rotation")
        rotation_min_networks: int = param(
            5, "distinct networks (/24, or ASNs when known) an account must hop across to be rotating"
        )
        rotation_min_requests: int = param(8, "requests an account needs before IP rotation is judged")
        relay_exempt_share: float = param(0.5, "accounts with this share of relay egress are never rotating")
        country_mismatch_share: float = param(
            0.8, "share of traffic from a country other than the billing one"
        )
        rare_fingerprint_share: float = param(0.9, "share of traffic on TLS fingerprints almost nobody uses")
        off_hours_floor: float = param(
            0.3, "minimum share of requests in the billing country's night (local 23-07) that can fire"
        )
        off_hours_z: float = param(4.0, "robust z over the input's night-share baseline that fires")
        off_hours_min_input_h: float = param(
            24.0,
            "hours the input must span before night shares are judged (a few hours of logs are night "
            "somewhere for everyone: early replay checkpoints, short --as-of cuts)",
        )

    def _detect(self, ctx: DetectionContext) -> list[pa.Table]:
        p = self.params
        acc = ctx.accounts
        fam = self.family
        n = ctx.col("n", 0.0)
        gaps = ctx.col("gap_n", 0.0)
        timed = gaps >= p.min_gaps
        cv = ctx.col("gap_cv", np.inf)
        out = [
            signal_rows(
                acc,
                fam,
                "machine_timing",
                ramp(np.where(timed, -cv, -np.inf), -p.cv_threshold, -0.1),
                cv,
                p.cv_threshold,
                ("inter-arrival CV {:.2f} over {:.0f} gaps (humans are bursty: CV > 1)", [cv, gaps]),
            )
        ]
        per = ctx.col("periodic_share", 0.0)
        out.append(
            signal_rows(
                acc,
                fam,
                "periodic_timing",
                ramp(np.where(timed, per, 0.0), p.periodic_share, 0.95),
                per,
                p.periodic_share,
                ("{:.0%} of gaps within 10% of the previous gap", [per]),
            )
        )
        fast = ctx.col("fast_gap_share", 0.0)
        out.append(
            signal_rows(
                acc,
                fam,
                "no_think_time",
                ramp(np.where(timed, fast, 0.0), p.fast_gap_share, 1.0),
                fast,
                p.fast_gap_share,
                ("{:.0%} of requests follow the previous one within seconds", [fast]),
            )
        )
        busy = n >= p.min_requests
        host = ctx.col("hosting_share", 0.0)
        out.append(
            signal_rows(
                acc,
                fam,
                "hosting_egress",
                ramp(np.where(busy, host, 0.0), p.hosting_share, 1.0),
                host,
                p.hosting_share,
                ("{:.0%} of traffic from datacenter networks", [host]),
            )
        )
        ips = ctx.col("ips", 0.0)
        asns = np.maximum(ctx.col("asns", 0.0), ctx.col("prefixes", 0.0))
        per_req = ips / np.maximum(n, 1.0)
        rotating = (
            (n >= p.rotation_min_requests)
            & (asns >= p.rotation_min_networks)
            & (ctx.col("relay_share", 0.0) < p.relay_exempt_share)
        )
        out.append(
            signal_rows(
                acc,
                fam,
                "ip_rotation",
                ramp(np.where(rotating, per_req, 0.0), p.rotation_ips_per_request, 0.9),
                per_req,
                p.rotation_ips_per_request,
                ("{:.0f} IPs across {:.0f} networks for {:.0f} requests", [ips, asns, n]),
            )
        )
        mism = ctx.col("country_mismatch_share", 0.0)
        out.append(
            signal_rows(
                acc,
                fam,
                "country_mismatch",
                ramp(np.where(busy, mism, 0.0), p.country_mismatch_share, 1.0),
                mism,
                p.country_mismatch_share,
                ("{:.0%} of traffic from outside the billing country {}", [mism, ctx.col("country")]),
            )
        )
        rare = ctx.col("rare_tls_share", 0.0)
        out.append(
            signal_rows(
                acc,
                fam,
                "rare_fingerprint",
                ramp(np.where(busy, rare, 0.0), p.rare_fingerprint_share, 1.0),
                rare,
                p.rare_fingerprint_share,
                ("{:.0%} of traffic on rarely seen TLS fingerprints", [rare]),
            )
        )
        night, thr, late = off_hours(
            ctx,
            floor=p.off_hours_floor,
            z=p.off_hours_z,
            min_requests=p.min_requests,
            min_input_h=p.off_hours_min_input_h,
        )
        out.append(
            signal_rows(
                acc,
                fam,
                "off_hours_activity",
                ramp(np.where(late, night, 0.0), thr, 1.0),
                night,
                thr,
                ("{:.0%} of requests at night in the billing country {}", [night, ctx.col("country")]),
            )
        )
        return out
