"""Family 1, abnormal traffic: volume and token excess against the account's own signup path.

Why tier-aware and on a log scale: legitimate volume spans orders of magnitude (a hobbyist
sends ten requests, an enterprise ten million), so a global threshold either bans every
big customer or misses every fleet. Each account is compared with the robust baseline
(median/MAD of log volume) of its own signup path, fitted on the benign bulk (fit, drop
outliers, refit). These signals are weak alone by design: big customers are outliers too.

``standalone_reasoning`` is about the structure of the traffic, not its size: an account that
converses, except that its reasoning requests each stand alone in a fresh conversation (one-shot
harvest items under conversational cover; :mod:`._standalone`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from distillguard.detectors import _standalone
from distillguard.detectors._clock import minority_focus
from distillguard.detectors._robust import robust_z
from distillguard.detectors.base import DetectionContext, Detector, param, ramp, signal_rows


class TrafficDetector(Detector):
    family = "traffic"
    signals = (
        "volume_outlier",
        "output_tokens_outlier",
        "output_ratio_outlier",
        "reasoning_share_outlier",
        "burst_outlier",
        "model_pivot",
        "minority_model_focus",
        "standalone_reasoning",
    )

    @dataclass(frozen=True)
    class Params:
        z_threshold: float = param(
            4.0, "robust z (log scale, per signup path) above which traffic is abnormal"
        )
        z_full: float = param(8.0, "robust z at which an abnormal-traffic signal reaches full strength")
        mad_floor_log: float = param(0.35, "floor of the log-scale MAD, so a homogeneous tier is not brittle")
        mad_floor_share: float = param(0.05, "floor of the MAD of reasoning-token share")
        filter_rounds: int = param(3, "fit / drop flagged / refit rounds of the baseline (anomaly filter)")
        min_tier_accounts: int = param(30, "a signup path needs this many accounts for its own baseline")
        min_requests_ratio: int = param(20, "requests an account needs before its token ratios are judged")
        pivot_share: float = param(
            0.5, "share of an account's traffic sent to a model in the first hours after its release"
        )
        pivot_min_requests: int = param(20, "requests to the new model needed before a pivot counts")
        minority_focus_share: float = param(
            0.5, "share of an account's traffic on minority (older, mostly abandoned) models that fires"
        )
        standalone_min: int = param(
            30, "reasoning requests alone in their conversation an account needs before the split is judged"
        )
        standalone_conversational: float = param(
            0.3,
            "share of an account's other requests (known conversation) in multi-request conversations: "
            "it converses elsewhere (pipelines and harnesses that never converse are not judged)",
        )
        standalone_floor: float = param(
            0.8, "minimum share of reasoning requests alone in their conversation that can ever fire"
        )
        standalone_z: float = param(
            4.0, "robust z over the scan's reasoning users' standalone share that fires"
        )
        standalone_mad_floor: float = param(0.05, "floor of the MAD of the standalone share")
        standalone_baseline_min: int = param(
            5, "reasoning requests (known conversation) that make an account part of the share baseline"
        )

    def _detect(self, ctx: DetectionContext) -> list[pa.Table]:
        p = self.params
        acc = ctx.accounts
        tier = ctx.col("tier")
        n = ctx.col("n", 0.0)
        enough = n >= p.min_requests_ratio
        out = []
        specs = [
            ("volume_outlier", np.log1p(n), None, p.mad_floor_log, "log requests"),
            ("output_tokens_outlier", np.log1p(ctx.col("out_tok", 0.0)), None, p.mad_floor_log, "log tokens"),
            (
                "output_ratio_outlier",
                np.log(ctx.col("out_in_ratio", 1.0)),
                enough,
                p.mad_floor_log,
                "log o/i",
            ),
            ("reasoning_share_outlier", ctx.col("reasoning_share"), enough, p.mad_floor_share, "share"),
            ("burst_outlier", np.log1p(ctx.col("peak_hour_n", 0.0)), None, p.mad_floor_log, "log peak/h"),
        ]
        for name, x, elig, floor, unit in specs:
            z, med, _ = robust_z(
                x,
                tier,
                z_threshold=p.z_threshold,
                mad_floor=floor,
                rounds=p.filter_rounds,
                min_group=p.min_tier_accounts,
                eligible=elig,
            )
            if elig is not None:
                z = np.where(elig, z, 0.0)
            strength = ramp(z, p.z_threshold, p.z_full)
            evidence = (f"robust z {{:.1f}} vs signup path {{}} ({unit} median {{:.2f}})", [z, tier, med])
            out.append(signal_rows(acc, self.family, name, strength, z, p.z_threshold, evidence))
        share = ctx.col("pivot_share", 0.0)
        pivot_n = ctx.col("pivot_n", 0.0)
        fired = np.where(pivot_n >= p.pivot_min_requests, share, 0.0)
        out.append(
            signal_rows(
                acc,
                self.family,
                "model_pivot",
                ramp(fired, p.pivot_share, 1.0),
                share,
                p.pivot_share,
                ("{:.0%} of traffic moved to a new model within its first day", [share]),
            )
        )
        minor, focused = minority_focus(ctx, share=p.minority_focus_share, min_requests=p.min_requests_ratio)
        out.append(
            signal_rows(
                acc,
                self.family,
                "minority_model_focus",
                ramp(np.where(focused, minor, 0.0), p.minority_focus_share, 1.0),
                minor,
                p.minority_focus_share,
                ("{:.0%} of traffic on older models the population has mostly left", [minor]),
            )
        )
        share, standalone, thr = _standalone.trait(ctx, p)
        ctx.cache["standalone_trait"] = (standalone, thr)
        single = _standalone.counts(ctx)["r_single"]
        out.append(
            signal_rows(
                acc,
                self.family,
                "standalone_reasoning",
                ramp(np.where(standalone, share, 0.0), thr, 1.0),
                share,
                thr,
                (
                    "{:.0%} of reasoning requests ({:.0f}) each alone in a fresh conversation while "
                    "its other traffic converses",
                    [share, single],
                ),
            )
        )
        return out
