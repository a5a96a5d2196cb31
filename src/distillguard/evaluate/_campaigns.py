"""Campaign-level scores: are the fleets caught whole, and are the predicted campaigns clean.

An enforcement team acts on campaigns, not accounts: a campaign split across five
predicted clusters means five investigations, and a predicted campaign that mixes in
real customers means banning them. These numbers say how close the grouping is to that.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from distillguard.evaluate._metrics import adjusted_rand_index


def _round(x: float | None) -> float | None:
    return None if x is None else round(float(x), 6)


def _pair_counts(left: np.ndarray, right: np.ndarray) -> list[tuple[str, str, int]]:
    """Distinct (left, right) label pairs with their counts, both sides non-null strings."""
    if left.size == 0:
        return []
    left_names, left_code = np.unique(left.astype(str), return_inverse=True)
    right_names, right_code = np.unique(right.astype(str), return_inverse=True)
    pair_code, counts = np.unique(left_code * right_names.size + right_code, return_counts=True)
    return [
        (str(left_names[code // right_names.size]), str(right_names[code % right_names.size]), int(count))
        for code, count in zip(pair_code.tolist(), counts.tolist(), strict=True)
    ]


def _best_match(pairs: list[tuple[str, str, int]]) -> dict[str, tuple[str, int]]:
    """For each left label, the right label it shares most items with (ties: smallest id)."""
    best: dict[str, tuple[str, int]] = {}
    for a, b, count in pairs:
        current = best.get(a)
        if current is None or count > current[1] or (count == current[1] and b < current[0]):
            best[a] = (b, count)
    return best


def campaign_metrics(
    is_attack: np.ndarray,
    campaign: np.ndarray,
    predicted: np.ndarray,
    campaign_id: np.ndarray | None,
) -> dict[str, Any]:
    """Per true campaign: accounts caught and kept together; per predicted campaign: purity; ARI.

    ``campaign`` is the true campaign per account (``None`` for benign and for attack
    accounts without one); ``campaign_id`` the predicted one (``None`` when the detector
    grouped nothing, or for the baseline, which has no grouping: then only "caught" is
    reported).
    """
    is_attack = np.asarray(is_attack, dtype=bool)
    predicted = np.asarray(predicted, dtype=bool)
    campaign = np.asarray(campaign, dtype=object)
    has_true = is_attack & np.not_equal(campaign, None)
    names, inverse = np.unique(campaign[has_true].astype(str), return_inverse=True)
    sizes = np.bincount(inverse, minlength=names.size)
    caught = np.bincount(inverse, weights=predicted[has_true].astype(np.float64), minlength=names.size)

    best_all: dict[str, tuple[str, int]] = {}
    best_caught: dict[str, tuple[str, int]] = {}
    predicted_rows: list[dict[str, Any]] = []
    ari = None
    if campaign_id is not None:
        campaign_id = np.asarray(campaign_id, dtype=object)
        grouped = has_true & np.not_equal(campaign_id, None)
        pairs = _pair_counts(campaign[grouped], campaign_id[grouped])
        best_all = _best_match(pairs)
        grouped_caught = grouped & predicted
        best_caught = _best_match(_pair_counts(campaign[grouped_caught], campaign_id[grouped_caught]))
        predicted_rows = _purity(is_attack, campaign, campaign_id)
        ari = adjusted_rand_index(list(campaign[is_attack]), list(campaign_id[is_attack]))

    true_rows = []
    for i, name in enumerate(names.tolist()):
        row: dict[str, Any] = {
            "campaign": name,
            "accounts": int(sizes[i]),
            "caught": int(caught[i]),
            "caught_share": _round(caught[i] / sizes[i]),
        }
        if campaign_id is not None:
            match, in_best = best_all.get(name, (None, 0))
            match_c, in_best_c = best_caught.get(name, (None, 0))
            row["best_match"] = match
            row["in_best_share"] = _round(in_best / sizes[i])
            row["caught_in_best_share"] = _round(in_best_c / caught[i]) if caught[i] else None
            row["best_match_of_caught"] = match_c
        true_rows.append(row)

    summary: dict[str, Any] = {
        "true_campaigns": int(names.size),
        "mean_caught_share": _round(float(np.mean(caught / sizes))) if names.size else None,
        "min_caught_share": _round(float(np.min(caught / sizes))) if names.size else None,
        "campaigns_with_any_caught": int(np.sum(caught > 0)),
    }
    if campaign_id is not None:
        members = sum(r["members"] for r in predicted_rows)
        majority = sum(r["majority_members"] for r in predicted_rows)
        in_best = [r["in_best_share"] for r in true_rows]
        summary.update(
            {
                "predicted_campaigns": len(predicted_rows),
                "ari": _round(ari),
                "mean_in_best_share": _round(float(np.mean(in_best))) if in_best else None,
                "weighted_purity": _round(majority / members) if members else None,
                "min_purity": _round(min(r["purity"] for r in predicted_rows)) if predicted_rows else None,
                "benign_in_campaigns": sum(r["benign_members"] for r in predicted_rows),
            }
        )
    return {"summary": summary, "true": true_rows, "predicted": predicted_rows}


def _purity(is_attack: np.ndarray, campaign: np.ndarray, campaign_id: np.ndarray) -> list[dict[str, Any]]:
    """Purity of each predicted campaign: share of members from its majority true campaign.

    Benign members and attack accounts of other campaigns both count as impurity; an
    attack account without a true campaign can only be a majority of one.
    """
    in_pred = np.not_equal(campaign_id, None)
    pred_names, pred_inverse = np.unique(campaign_id[in_pred].astype(str), return_inverse=True)
    members = np.bincount(pred_inverse, minlength=pred_names.size)
    benign = np.bincount(
        pred_inverse, weights=(~is_attack[in_pred]).astype(np.float64), minlength=pred_names.size
    )
    labelled = in_pred & is_attack & np.not_equal(campaign, None)
    unlabelled_attack = in_pred & is_attack & np.equal(campaign, None)
    pairs = _pair_counts(campaign_id[labelled], campaign[labelled])
    majority = _best_match(pairs)
    has_loose = set(campaign_id[unlabelled_attack].astype(str).tolist())
    rows = []
    for i, name in enumerate(pred_names.tolist()):
        top, count = majority.get(name, (None, 0))
        if count == 0 and name in has_loose:
            count = 1
        rows.append(
            {
                "campaign_id": name,
                "members": int(members[i]),
                "benign_members": int(benign[i]),
                "majority_campaign": top,
                "majority_members": int(count),
                "purity": _round(count / members[i]),
            }
        )
    return rows
