"""Signals (+ campaign membership) -> per-account score, verdict, ordered reasons.

Why this shape: a banned paying customer is the costliest mistake, and every single
signal here has a benign explanation (batch jobs are regular, harnesses ask for reasoning,
campuses share an address). So evidence is pooled per family (noisy-OR of weighted
signals), each family alone is capped below the attack line, and ``attack`` requires at
least two families to fire, one of them cross-account (coordination or partner intel).

``flagged_at`` is measured, not estimated: :func:`replay_schedule` gives the checkpoints
(dense early) at which the scan is re-run on the events seen so far (``--as-of``), and an
account's ``flagged_at`` is the first checkpoint where it was already an attack.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from distillguard.detectors.base import FAMILIES, param
from distillguard.schema import ACCOUNTS_SCHEMA

#: Signals that are weak alone (benign look-alikes are common): their strength is scaled.
WEAK_SIGNAL_WEIGHTS: dict[str, float] = {
    "country_mismatch": 0.5,
    "rare_fingerprint": 0.5,
    "no_think_time": 0.6,
    "narrow_capability": 0.6,
    "template_concentration": 0.6,
    "output_ratio_outlier": 0.6,
    "reasoning_share_outlier": 0.6,
    "burst_outlier": 0.6,
    "created_together": 0.45,
    # unrelated users of one popular agent framework share its prompt frame too
    "shared_template": 0.45,
    # common schedules (nightly batch windows, class hours) synchronize unrelated customers
    "synchronized": 0.45,
    # the same two, between accounts of one card (one customer's keys: an enterprise batch job)
    "card_lockstep": 0.45,
    "card_opened_together": 0.45,
    "shared_payment": 0.8,
    # night owls, nightly jobs and legacy integrations exist: each trait is weak alone
    "off_hours_activity": 0.8,
    "minority_model_focus": 0.8,
    # a relay injects one harvest system prompt into its customers' calls, but so does a
    # popular open-source evaluation tool into the calls of its unrelated users (whose
    # benchmark prompts repeat across accounts); ``fleet_system_prompt`` -- many unrelated
    # accounts sending *distinct* prompts under one harvest system prompt -- is full weight
    "shared_system_prompt": 0.45,
    "shared_infra": 0.8,
}

#: Families whose evidence relates an account to other accounts.
CROSS_ACCOUNT_FAMILIES: tuple[str, ...] = ("coordination", "intel")

#: Cross-account signals that share ONE benign-explainable thing (a popular framework's
#: prompt frame, a signup day): they count in the score, but cannot by themselves be the
#: cross-account evidence an attack verdict requires.
#: Empty by default: measured on our simulator, excluding the weak template / signup links
#: from the cross-account requirement cost most fleet recall (they are often the only
#: cross-account evidence of thin fleet members); kept as a documented knob.
#: Cross-account signals that add to the score but are never alone the cross-account
#: evidence of an attack. ``shared_system_prompt`` is a harvest-style system prompt whose
#: prompts repeat across accounts: a benchmark tool's, an evaluation harness at 10M events
#: turned attack on it plus a weak lockstep with two fellow harness accounts. (A shared
#: datacenter IP is the same kind of weak thing -- commercial VPN exits -- but held-out hydra
#: fleets lean on it alone: moving it here cost 285 of 285 of them, so it stays, noted.)
CORROBORATING_ONLY: tuple[str, ...] = ("shared_system_prompt",)

#: Cross-account signals that relate an account only to its own customer's other accounts
#: (one card): a card's accounts are one customer. Alone they are the cross-account evidence
#: of an attack only when the account also hides or runs as a bot (its automation family
#: fires: datacenter or rotating egress, machine timing). A transparent customer with many
#: seats on one card -- a labelling vendor's annotators grading with rubrics from one office
#: at human pace -- goes to review: the record's fleets hide behind proxies, many payers and
#: replacement chains, and one visible payer can be dealt with through its contract.
CUSTOMER_ONLY: tuple[str, ...] = ("shared_payment", "replacement_chain", "hiding_card")

#: Cross-account signals between accounts of one card that are one customer's own operations
#: (its keys in lockstep, opened in one burst): a customer splitting a batch job over keys
#: runs as a bot on cloud egress, so these count as the cross-account evidence of an attack
#: only when the account hides its origin (``HIDING_SIGNALS``). Measured: an independent
#: generator's enterprise of 40 accounts on one card went `attack` without prompt text on
#: lockstep, one signup burst, hosting egress and machine timing.
OWN_CUSTOMER_ONLY: tuple[str, ...] = ("card_lockstep", "card_opened_together")

#: Automation signals that say an account hides where it calls from (not merely runs as a bot).
HIDING_SIGNALS: tuple[str, ...] = ("ip_rotation", "country_mismatch")


@dataclass(frozen=True)
class ScoringParams:
    """Named thresholds of the verdict (printed in scan_meta.json and the report)."""

    family_fire: float = param(0.5, "a family fires when its pooled strength reaches this")
    family_cap: float = param(0.6, "the most one family can contribute to the score (keeps it below attack)")
    attack_score: float = param(
        0.65, "score at or above which corroborated evidence is an attack (two families firing at ~0.7)"
    )
    suspicious_score: float = param(0.4, "score at or above which an account goes to review")
    member_min_own_score: float = param(
        0.25,
        "own score (membership evidence left out) a strong member of a corroborated campaign needs "
        "before membership lifts it to attack: about one family of its own near firing (0.6 x 0.42); "
        "membership is never its own proof",
    )
    min_families: int = param(2, "independent families that must fire for an attack verdict")
    require_cross_account: bool = param(True, "an attack needs coordination or intel among its families")
    min_local_families: int = param(
        1,
        "local families (not partner intel) that must fire for an attack: a partner's word alone "
        "never bans a customer, but it corroborates local extraction / automation evidence",
    )
    weak_weights: dict[str, float] = field(
        default_factory=lambda: dict(WEAK_SIGNAL_WEIGHTS),
        metadata={"doc": "per-signal weight for signals that are weak alone"},
    )
    corroborating_only: tuple[str, ...] = param(
        CORROBORATING_ONLY,
        "cross-account signals that count in the score but are never alone the cross-account "
        "evidence of an attack (each shares one benign-explainable thing)",
    )
    customer_only: tuple[str, ...] = param(
        CUSTOMER_ONLY,
        "cross-account signals within one customer (a shared card): alone the cross-account "
        "evidence of an attack only when the automation family fires too",
    )
    own_customer_only: tuple[str, ...] = param(
        OWN_CUSTOMER_ONLY,
        "cross-account signals between one card's accounts (lockstep, one signup burst): alone the "
        "cross-account evidence of an attack only when the account hides its origin (hiding_signals)",
    )
    hiding_signals: tuple[str, ...] = param(
        HIDING_SIGNALS, "automation signals that say an account hides where it calls from"
    )


def family_scores(
    signals: pa.Table, accounts: np.ndarray, params: ScoringParams, exclude: tuple[str, ...] = ()
) -> np.ndarray:
    """``(accounts, families)`` pooled strength per family (noisy-OR of weighted signals),
    leaving out the signals named in ``exclude``."""
    return _family_views(signals, accounts, params, (exclude,))[0]


def _family_views(
    signals: pa.Table, accounts: np.ndarray, params: ScoringParams, excludes: tuple[tuple[str, ...], ...]
) -> list[np.ndarray]:
    """:func:`family_scores` once per ``exclude`` in ``excludes``, locating each signal's
    account, family and weight once (scoring runs at every replay checkpoint)."""
    index = {a: i for i, a in enumerate(accounts.tolist())}
    fam_index = {f: j for j, f in enumerate(FAMILIES)}
    out = []
    if signals.num_rows:
        rows = np.array([index.get(a, -1) for a in signals["account_id"].to_pylist()])
        cols = np.array([fam_index.get(f, -1) for f in signals["family"].to_pylist()])
        names = signals["signal"].to_pylist()
        w = np.array([params.weak_weights.get(s, 1.0) for s in names])
        s = np.clip(signals["strength"].to_numpy(zero_copy_only=False) * w, 0.0, 1.0)
        located = (rows >= 0) & (cols >= 0)
        names_arr = np.asarray(names, dtype=object)
    for exclude in excludes:
        miss = np.ones((len(accounts), len(FAMILIES)))
        if signals.num_rows:
            ok = located & ~np.isin(names_arr, list(exclude)) if exclude else located
            np.multiply.at(miss, (rows[ok], cols[ok]), 1.0 - s[ok])
        out.append(1.0 - miss)
    return out


def verdicts(
    fam: np.ndarray,
    params: ScoringParams,
    campaign_member: np.ndarray | None = None,
    own_score: np.ndarray | None = None,
    cross_fam: np.ndarray | None = None,
    outside_fam: np.ndarray | None = None,
    customer_fam: np.ndarray | None = None,
    hiding: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Score in [0, 1] and verdict per account from family scores.

    ``cross_fam`` are the family scores without the corroborating-only signals: the
    cross-account requirement is judged on them (default: ``fam``). ``outside_fam`` leave
    the customer-only signals (a shared card) out too: cross-account evidence that only
    relates an account to its own card's accounts counts when its automation family fires
    (``params.customer_only``; default: no such restriction). ``customer_fam`` leave out only
    the own-customer signals (one card's lockstep or signup burst): cross-account evidence
    that is only those counts when the account hides its origin (``hiding``, a mask; default:
    no such restriction).

    ``campaign_member`` marks strong members of a corroborated campaign: the campaign as a
    whole already carries independent families of evidence, so a member with a suspicious
    score of its own is an attack even if its own traffic is too thin for two families
    (the low-and-slow and hydra members that each stay under every per-account limit).
    "Its own" is ``own_score``: the score before membership evidence was added (intel
    included), so membership is never its own proof -- an account whose only evidence is
    having been linked into a campaign stays where its own signals put it.

    Partner intel is cross-account evidence from outside: intel plus one local family at
    the suspicious level is an attack; intel alone never is (``min_local_families``).

    Accounts lifted to attack by either rule score at least ``attack_score``
    (:func:`attack_floor`), so the score never orders an attack below the threshold.
    """
    score = 1.0 - np.prod(1.0 - params.family_cap * fam, axis=1)
    fired = fam >= params.family_fire
    n_fired = fired.sum(axis=1)
    cross = np.zeros(len(score), dtype=bool)
    strong = fired if cross_fam is None else cross_fam >= params.family_fire
    for f in CROSS_ACCOUNT_FAMILIES:
        cross |= strong[:, FAMILIES.index(f)]
    if outside_fam is not None:
        outside = np.zeros(len(score), dtype=bool)
        customer = np.zeros(len(score), dtype=bool)
        for f in CROSS_ACCOUNT_FAMILIES:
            outside |= outside_fam[:, FAMILIES.index(f)] >= params.family_fire
            if customer_fam is not None:
                customer |= customer_fam[:, FAMILIES.index(f)] >= params.family_fire
        if customer_fam is None:
            customer = cross.copy()
        ok = outside | (customer & fired[:, FAMILIES.index("automation")])
        if hiding is not None:
            ok |= hiding
        cross &= ok
    local = n_fired - fired[:, FAMILIES.index("intel")]
    attack = (score >= params.attack_score) & (n_fired >= params.min_families)
    attack &= local >= params.min_local_families
    if params.require_cross_account:
        attack &= cross
    intel = fired[:, FAMILIES.index("intel")]
    attack |= intel & (local >= max(1, params.min_local_families)) & (score >= params.suspicious_score)
    if campaign_member is not None:
        own = score if own_score is None else own_score
        attack |= campaign_member & (own >= params.member_min_own_score)
    verdict = np.where(attack, "attack", np.where(score >= params.suspicious_score, "suspicious", "clear"))
    return attack_floor(score, attack, params), verdict


def attack_floor(score: np.ndarray, attack: np.ndarray, params: ScoringParams) -> np.ndarray:
    """``score`` raised to at least ``params.attack_score`` where ``attack`` holds.

    Rules that lift an account to ``attack`` on evidence the score does not pool (campaign
    membership, partner intel with one local family, a corroborated link to a proven attacker)
    would otherwise leave it scored below accounts merely ``suspicious``: sorting by score --
    an analyst's queue, ROC-AUC -- would then contradict the verdicts. The floor keeps every
    attack at or above the attack threshold; the reasons still name the lifting rule.
    """
    return np.where(attack, np.maximum(score, params.attack_score), score)


def reasons(signals: pa.Table, accounts: np.ndarray, params: ScoringParams) -> list[list[str]]:
    """Per account, the fired signal names, strongest (after weighting) first."""
    out: list[list[str]] = [[] for _ in range(len(accounts))]
    if not signals.num_rows:
        return out
    index = {a: i for i, a in enumerate(accounts.tolist())}
    names = signals["signal"].to_pylist()
    w = np.array([params.weak_weights.get(s, 1.0) for s in names])
    eff = signals["strength"].to_numpy(zero_copy_only=False) * w
    order = np.lexsort((np.array(names, dtype=object).astype(str), -eff))
    acc = signals["account_id"].to_pylist()
    for k in order.tolist():
        i = index.get(acc[k])
        if i is not None and names[k] not in out[i]:
            out[i].append(names[k])
    return out


def score_accounts(
    features: pa.Table,
    signals: pa.Table,
    params: ScoringParams | None = None,
    campaign_member: np.ndarray | None = None,
    own_score: np.ndarray | None = None,
) -> dict[str, Any]:
    """Score, verdict, reasons and family scores for every account in ``features``
    (``own_score``: see :func:`verdicts`)."""
    p = params or ScoringParams()
    accounts = np.asarray(features["account_id"].to_pylist(), dtype=object)
    own = tuple(p.own_customer_only)
    views: tuple[tuple[str, ...], ...] = ((), tuple(p.corroborating_only))
    if p.customer_only or own:
        views += ((*p.corroborating_only, *p.customer_only, *own), (*p.corroborating_only, *own))
    fam, cross_fam, *rest = _family_views(signals, accounts, p, views)
    outside_fam, customer_fam = (rest[0], rest[1]) if rest else (None, None)
    hiding = None
    if own:
        hidden = set(
            signals.filter(pc.is_in(signals["signal"], pa.array(list(p.hiding_signals), pa.string())))[
                "account_id"
            ].to_pylist()
        )
        hiding = np.array([a in hidden for a in accounts.tolist()], dtype=bool)
    score, verdict = verdicts(
        fam, p, campaign_member, own_score, cross_fam, outside_fam, customer_fam, hiding
    )
    return {
        "account_id": accounts,
        "score": score,
        "verdict": verdict,
        "families": fam,
        "reasons": reasons(signals, accounts, p),
    }


def accounts_table(
    features: pa.Table,
    scored: dict[str, Any],
    campaign_of: dict[str, str],
    flagged_at: dict[str, dt.datetime],
) -> pa.Table:
    """The ``accounts.parquet`` table (``ACCOUNTS_SCHEMA``), sorted by account id."""
    ids = scored["account_id"].tolist()
    return pa.table(
        {
            "account_id": pa.array(ids, pa.string()),
            "score": pa.array(np.round(scored["score"], 6), pa.float64()),
            "verdict": pa.array(scored["verdict"].tolist(), pa.string()),
            "campaign_id": pa.array([campaign_of.get(a) for a in ids], pa.string()),
            "reasons": pa.array(scored["reasons"], pa.list_(pa.string())),
            "flagged_at": pa.array(
                [flagged_at.get(a) for a in ids], ACCOUNTS_SCHEMA.field("flagged_at").type
            ),
            "exchanges": features["n"].cast(pa.int64()),
            "first_seen": features["first_ts"].cast(ACCOUNTS_SCHEMA.field("first_seen").type),
            "last_seen": features["last_ts"].cast(ACCOUNTS_SCHEMA.field("last_seen").type),
        },
        schema=ACCOUNTS_SCHEMA,
    )


@dataclass(frozen=True)
class ReplaySchedule:
    """When the scan is re-run on the events seen so far, to measure ``flagged_at``.

    Dense early because early detection is what limits harvest: every ``dense_step_h``
    hours for the first ``dense_for_h`` hours, then every ``sparse_step_h`` hours.
    """

    dense_step_h: float = param(2.0, "replay checkpoint spacing (h) in the first part of the input")
    dense_for_h: float = param(48.0, "hours from the start of the input with dense checkpoints")
    sparse_step_h: float = param(12.0, "replay checkpoint spacing (h) afterwards")
    max_checkpoints: int = param(64, "hard cap on replay checkpoints (bounds the cost)")


def replay_schedule(start: dt.datetime, end: dt.datetime, schedule: ReplaySchedule) -> list[dt.datetime]:
    """Checkpoints strictly between ``start`` and ``end`` (the final scan covers ``end``)."""
    out: list[dt.datetime] = []
    t = start + dt.timedelta(hours=schedule.dense_step_h)
    while t < end and len(out) < schedule.max_checkpoints:
        out.append(t)
        elapsed = (t - start).total_seconds() / 3600
        step = schedule.dense_step_h if elapsed < schedule.dense_for_h else schedule.sparse_step_h
        t = t + dt.timedelta(hours=step)
    return out
