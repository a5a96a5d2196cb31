"""A card's accounts are one customer: a shared card alone is cross-account evidence of an
attack only when the account also hides or runs as a bot (its automation family fires).

Must not be an attack: a labelling vendor's annotators on the vendor's card, every request a
rubric-graded judgement (extraction fires), working as one job from one office at human pace.
Must be: the same accounts behind datacenter or rotating egress (a fleet on one card), or tied
to other customers by another cross-account signal.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from distillguard.detectors.base import concat_signals, signal_rows
from distillguard.scoring import ScoringParams, score_accounts

FAMILY_OF = {
    "extraction_prompt_share": "extraction",
    "shared_payment": "coordination",
    "shared_harvest_template": "coordination",
    "hosting_egress": "automation",
    "ip_rotation": "automation",
}


def _score(rows: dict[str, list[str]], params: ScoringParams | None = None) -> dict[str, str]:
    accounts = np.asarray(sorted(rows), dtype=object)
    tables = []
    for sig, fam in FAMILY_OF.items():
        strength = np.array([1.0 if sig in rows[a] else 0.0 for a in accounts])
        tables.append(signal_rows(accounts, fam, sig, strength, strength, 0.5, sig))
    features = pa.table({"account_id": pa.array(accounts.tolist(), pa.string())})
    out = score_accounts(features, concat_signals(tables), params or ScoringParams())
    return dict(zip(out["account_id"].tolist(), out["verdict"].tolist(), strict=True))


def test_transparent_card_doing_rubric_work_goes_to_review() -> None:
    v = _score({"annotator": ["extraction_prompt_share", "shared_payment"]})
    assert v["annotator"] == "suspicious"


def test_card_fleet_that_hides_or_has_other_ties_is_attack() -> None:
    v = _score(
        {
            "dc_bot": ["extraction_prompt_share", "shared_payment", "hosting_egress"],
            "rotating": ["extraction_prompt_share", "shared_payment", "ip_rotation"],
            "fleet_frame": ["extraction_prompt_share", "shared_payment", "shared_harvest_template"],
            "frame_no_card": ["extraction_prompt_share", "shared_harvest_template"],
        }
    )
    assert set(v.values()) == {"attack"}, v


def test_rule_off_restores_the_card_as_cross_account_evidence() -> None:
    v = _score({"annotator": ["extraction_prompt_share", "shared_payment"]}, ScoringParams(customer_only=()))
    assert v["annotator"] == "attack"
