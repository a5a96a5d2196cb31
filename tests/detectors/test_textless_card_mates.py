"""Accounts without prompt text on a card whose other accounts run one job.

Must fire: the text-less accounts of a fleet card (a source that does not log prompts)
when the card's accounts that do show prompts all work one template set. Must not fire:
the text-less member of a team card whose members each do their own work, nor a card where
only one account shows its prompts (one witness is not a job).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "detect"))

from dg_detect_world import World, detection_context, fired

from distillguard.detectors import CoordinationDetector


def _card(w: World, prefix: str, with_text: int, textless: int, *, one_job: bool) -> None:
    for i in range(with_text + textless):
        n = int(w.rng.integers(40, 80))
        cols = {}
        if i < with_text:
            fams = w.rng.integers(700, 703, n) if one_job else w.rng.integers(10_000, 10_000_000, n)
            cols = {"template_family": fams, "prompt": [f"{prefix}{i} q{j}" for j in range(n)]}
        w._add(
            f"{prefix}{i}",
            w.human_times(n),
            f"persona_{prefix}",
            payment_fingerprint=f"pay-{prefix}",
            client_ip=f"73.{len(prefix)}.{i}.9",
            **cols,
        )


def test_textless_accounts_of_a_one_job_card_are_judged_by_their_card_mates() -> None:
    w = World(seed=61)
    w.hobbyists(80)
    _card(w, "flt", 4, 2, one_job=True)
    _card(w, "team", 5, 1, one_job=False)
    _card(w, "solo", 1, 3, one_job=True)
    out = fired(CoordinationDetector().detect(detection_context(w.table())), "shared_payment")
    assert {"flt4", "flt5"} <= out, "text-less accounts of the fleet card"
    assert {"flt0", "flt1", "flt2", "flt3"} <= out
    assert not {a for a in w.labels if a.startswith(("team", "solo"))} & out
