"""Family 2, extraction prompts: what the account asks for, judged per account.

The public record names the harvest targets: chain-of-thought elicitation ("articulate the
internal reasoning ... step by step"), rubric grading, censorship-safe rewrites, and narrow
capability sweeps driven by a few templates. Benign heavy users do some of this too
(evaluation harnesses send "think step by step" benchmarks through one account), so these
signals say "harvest-shaped", not "attack"; the cross-account view (coordination) has to
corroborate. Thresholds are the larger of a documented floor and the input's own benign
baseline (median + z * MAD after the anomaly filter), so a population where everyone asks
for reasoning does not light up.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

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
