"""Family 2, extraction prompts: what the account asks for, judged per account.

The public record names the harvest targets: chain-of-thought elicitation ("articulate the
internal reasoning ... step by step"), rubric grading, censorship-safe rewrites, and narrow
capability sweeps driven by a few templates. Benign heavy users do some of this too
(evaluation harnesses send "think step by step" benchmarks through one account), so these
signals say "harvest-shaped", not "attack"; the cross-account view (coordination) has to
corroborate. Thresholds are the larger of a documented floor and the input's own benign
baseline (median + z * MAD after the anomaly filter), so a population where everyone asks
for reasoning does not light up.

Thin accounts (fewer tagged prompts than ``min_tagged``: a hydra or low-and-slow member
sends a handful of requests before it is replaced) are judged by chance instead of by
share: how likely their count of harvest prompts is for an account drawing from the benign
bulk's own per-prompt rate (pooled over accounts below the share floor). Two of three
step-by-step requests is unremarkable where a third of all traffic asks for reasoning and
very unlikely where one request in a hundred does; the rate comes from the input itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from distillguard.detectors._binomial import binomial_tail, log_surprise
from distillguard.detectors._robust import filtered_baseline
from distillguard.detectors.base import DetectionContext, Detector, param, ramp, signal_rows


class ExtractionDetector(Detector):
    family = "extraction"
    signals = (
        "cot_elicitation_share",
        "extraction_prompt_share",
        "narrow_capability",
        "template_concentration",
    )
    needs_prompts = True

    @dataclass(frozen=True)
    class Params:
        min_tagged: int = param(8, "tagged prompts an account needs before its content shares are judged")
        share_floor: float = param(0.3, "minimum CoT/extraction-prompt share that can ever fire")
        share_z: float = param(4.0, "robust z over the population's share baseline that fires")
        mad_floor: float = param(0.05, "floor of the MAD of content shares")
        filter_rounds: int = param(3, "fit / drop flagged / refit rounds of the share baseline")
        min_focus_requests: int = param(50, "requests needed before capability/template focus is judged")
        capability_focus: float = param(0.9, "share of traffic in one capability that is a narrow focus")
        thin_alpha: float = param(
            1e-3,
            "chance (binomial tail at the benign bulk's per-prompt rate) below which a thin account's "
            "count of harvest prompts fires",
        )
        thin_min_hits: int = param(2, "harvest prompts a thin account needs before chance is judged")
        template_focus: float = param(
            0.3,
            "Simpson concentration of an account's template families (the chance two of its prompts "
            "share a family; 1 / the effective number of families) that is a narrow focus",
        )

    def _share_threshold(self, x: np.ndarray, eligible: np.ndarray) -> float:
        p = self.params
        med, scale, _ = filtered_baseline(
            np.where(eligible, x, np.nan), p.share_z, p.mad_floor, p.filter_rounds
        )
        if not np.isfinite(med):
            return p.share_floor
        return float(min(0.95, max(p.share_floor, med + p.share_z * scale)))

    def _thin(self, ctx: DetectionContext, name: str, share: np.ndarray, what: str) -> pa.Table:
        """``name`` for thin accounts whose harvest-prompt count is unlikely by chance."""
        p = self.params
        n = ctx.col("tagged_n", 0.0)
        hits = np.round(np.nan_to_num(share) * n)
        bulk = (n > 0) & (np.nan_to_num(share) < p.share_floor)
        rate = float(hits[bulk].sum() / n[bulk].sum()) if bulk.any() else float("nan")
        thin = (n > 0) & (n < p.min_tagged) & (hits >= p.thin_min_hits)
        chance = np.ones(len(n))
        if np.isfinite(rate) and thin.any():
            chance[thin] = binomial_tail(hits[thin], n[thin], rate)
        fired = thin & (chance < p.thin_alpha)
        # a bare crossing ("possible"), rising as the count grows less likely
        surprise = log_surprise(chance)
        alpha_s = -np.log10(max(p.thin_alpha, 1e-300))
        strength = np.where(fired, ramp(surprise, alpha_s, 2 * alpha_s), 0.0)
        return signal_rows(
            ctx.accounts,
            self.family,
            name,
            strength,
            share,
            np.full(len(n), rate),
            (
                "{:.0f} of {:.0f} prompts " + what + " (chance {:.1e} at the population's rate {:.1%})",
                [hits, n, chance, np.full(len(n), rate)],
            ),
        )

    def _detect(self, ctx: DetectionContext) -> list[pa.Table]:
        p = self.params
        acc = ctx.accounts
        fam = self.family
        tagged = ctx.col("tagged_n", 0.0) >= p.min_tagged
        out = []
        for name, col, what in (
            ("cot_elicitation_share", "cot_share", "elicit step-by-step reasoning"),
            ("extraction_prompt_share", "extraction_share", "are rubric/rewrite/judge harvest prompts"),
        ):
            x = ctx.col(col, 0.0)
            thr = self._share_threshold(x, tagged)
            out.append(self._thin(ctx, name, x, what))
            out.append(
                signal_rows(
                    acc,
                    fam,
                    name,
                    ramp(np.where(tagged, x, 0.0), thr, 1.0),
                    x,
                    thr,
                    ("{:.0%} of prompts " + what, [x]),
                )
            )
        n = ctx.col("n", 0.0)
        busy = n >= p.min_focus_requests
        cap = ctx.col("cap_top_share", 0.0)
        out.append(
            signal_rows(
                acc,
                fam,
                "narrow_capability",
                ramp(np.where(busy & (ctx.col("capabilities", 0.0) > 0), cap, 0.0), p.capability_focus, 1.0),
                cap,
                p.capability_focus,
                ("{:.0%} of traffic aimed at one capability ({})", [cap, ctx.col("top_capability")]),
            )
        )
        conc = ctx.col("family_concentration", 0.0)
        tmpl = ctx.col("tmpl_n", 0.0) >= p.min_focus_requests
        out.append(
            signal_rows(
                acc,
                fam,
                "template_concentration",
                ramp(np.where(tmpl, conc, 0.0), p.template_focus, 1.0),
                conc,
                p.template_focus,
                ("prompts concentrated on ~{:.1f} template families", [1.0 / np.maximum(conc, 1e-9)]),
            )
        )
        return out
