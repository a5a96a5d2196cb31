"""Hand-made cases for the failure classes seen on independent hold-out traffic.

False-positive classes (must stay clear of attack evidence): consumer VPN exits shared by
strangers, a startup giving each service its own account on one card and one cloud egress,
apps sending public benchmark questions, international users wrapping homework in a common
"explain step by step" phrase. Miss classes (must fire): a low-and-slow fleet working its own
office hours on an older model while claiming to be customers elsewhere; membership that is
not its own proof; partner intel corroborating local evidence; enrich's tag names.
"""

from __future__ import annotations

import numpy as np
from dg_detect_world import World, day_times, detection_context, fired, offshore_lowslow_fleet

from distillguard.detectors import AutomationDetector, CoordinationDetector, TrafficDetector
from distillguard.detectors.base import FAMILIES
from distillguard.features._prepare import tag_columns
from distillguard.scoring import ScoringParams, verdicts


def _people(w: World, k: int, *, old_share: float = 0.02) -> None:
    """Ordinary US/GB customers working their own days, mostly on the current model."""
    for i in range(k):
        n = int(w.rng.integers(25, 60))
        country, off = (("US", -6), ("GB", 0))[i % 2]
        w._add(
            f"ppl{i:03d}",
            day_times(w, n, off),
            "benign_people",
            account_country=country,
            model=np.where(w.rng.random(n) < old_share, "m-old", "m-large"),
            template_family=w.rng.integers(10_000, 10_000_000, n),
            prompt=[f"ppl{i} q{j}" for j in range(n)],
        )


def _signals(w: World, detector) -> object:
    return detector.detect(detection_context(w.table()))


def test_vpn_exits_shared_by_strangers_are_not_fleet_infra() -> None:
    w = World(seed=3)
    _people(w, 80)
    for i in range(30):
        n = int(w.rng.integers(25, 60))
        w._add(
            f"vpn{i:02d}",
            day_times(w, n, -6),
            "benign_vpn_user",
            client_ip=[f"185.65.{j % 3}.10" for j in w.rng.integers(0, 3, n)],
            ip_kind="vpn",
            template_family=w.rng.integers(10_000, 10_000_000, n),
            prompt=[f"vpn{i} q{j}" for j in range(n)],
        )
    vpn = {a for a in w.labels if a.startswith("vpn")}
    auto = _signals(w, AutomationDetector())
    coord = _signals(w, CoordinationDetector())
    assert not vpn & fired(auto, "hosting_egress"), "a commercial VPN exit is consumer egress"
    assert not vpn & fired(coord, "shared_infra")


def test_startup_accounts_on_one_card_and_one_egress_are_one_customer() -> None:
    w = World(seed=4)
    _people(w, 60)
    for i in range(20):
        n = int(w.rng.integers(100, 300))
        w._add(
            f"stp{i:02d}",
            w.regular_times(n, 90.0, 0.6),
            "benign_startup",
            payment_fingerprint="pay-startup",
            client_ip="34.120.8.8",
            ip_kind="hosting",
            template_family=w.rng.integers(10_000, 10_000_000, n),
            prompt=[f"stp{i} q{j}" for j in range(n)],
        )
    stp = {a for a in w.labels if a.startswith("stp")}
    out = _signals(w, CoordinationDetector())
    assert not stp & fired(out, "shared_payment"), "a shared card without a common job is one customer"


def test_benchmark_payloads_and_common_cot_phrasing_are_not_fleet_templates() -> None:
    """Apps and students send public benchmark questions (many question openings, each a
    small share) and wrap a minority of their prompts in a common CoT phrase."""
    w = World(seed=5)
    _people(w, 40)
    openings = np.arange(50_000, 50_040)
    for i in range(40):
        n = int(w.rng.integers(60, 160))
        bench = w.rng.random(n) < 0.3
        fam = np.where(bench, w.rng.choice(openings, n), w.rng.integers(10_000, 10_000_000, n))
        w._add(
            f"app{i:02d}",
            day_times(w, n, -6),
            "benign_reasoning_app",
            ip_kind="hosting",
            client_ip=f"35.9.{i}.1",
            template_family=fam,
            tag_cot=bench,
            prompt=[f"app{i} q{j}" for j in range(n)],
        )
    for i in range(60):
        n = int(w.rng.integers(20, 60))
        wrapped = w.rng.random(n) < 0.35
        w._add(
            f"itl{i:02d}",
            day_times(w, n, 1),
            "benign_intl_user",
            account_country="DE",
            ip_country="DE",
            template_family=np.where(wrapped, 60_606, w.rng.integers(10_000, 10_000_000, n)),
            tag_cot=wrapped,
            prompt=[f"itl{i} q{j}" for j in range(n)],
        )
    benign = {a for a in w.labels if a.startswith(("app", "itl"))}
    out = _signals(w, CoordinationDetector())
    assert not benign & (fired(out, "shared_harvest_template") | fired(out, "shared_template"))


def test_lowslow_fleet_shares_an_unusual_profile_beyond_chance() -> None:
    w = World(seed=6)
    _people(w, 400)
    # benign twins of each trait alone: night workers on the current model, day workers
    # on a legacy integration
    for i in range(6):
        w._add(
            f"owl{i}",
            day_times(w, 40, -6 - 12),
            "benign_night_owl",
            template_family=w.rng.integers(10_000, 10_000_000, 40),
            prompt=[f"owl{i} q{j}" for j in range(40)],
        )
        w._add(
            f"leg{i}",
            day_times(w, 40, -6),
            "benign_legacy",
            model="m-old",
            template_family=w.rng.integers(10_000, 10_000_000, 40),
            prompt=[f"leg{i} q{j}" for j in range(40)],
        )
    offshore_lowslow_fleet(w, 40)
    fleet = {a for a in w.labels if a.startswith("lsf")}
    coord = _signals(w, CoordinationDetector())
    prof = fired(coord, "shared_unusual_profile")
    assert len(fleet & prof) >= 0.9 * len(fleet)
    assert not prof - fleet, sorted(prof - fleet)
    assert len(fleet & fired(_signals(w, TrafficDetector()), "minority_model_focus")) >= 0.9 * len(fleet)
    owls = {a for a in w.labels if a.startswith("owl")}
    assert owls <= fired(_signals(w, AutomationDetector()), "off_hours_activity")


def test_unusual_profile_needs_many_unrelated_accounts() -> None:
    """A handful of night owls on a legacy model is chance, not a fleet."""
    w = World(seed=8)
    _people(w, 200)
    offshore_lowslow_fleet(w, 4)
    assert not fired(_signals(w, CoordinationDetector()), "shared_unusual_profile")


def _fam(**kw: float) -> np.ndarray:
    row = np.zeros((1, len(FAMILIES)))
    for k, v in kw.items():
        row[0, FAMILIES.index(k)] = v
    return row


def test_campaign_membership_is_never_its_own_proof() -> None:
    p = ScoringParams()
    member = np.array([True])
    # with the membership signal the score is high, but its own evidence was nothing
    _, v = verdicts(_fam(coordination=1.0, automation=0.2), p, member, own_score=np.array([0.1]))
    assert v[0] != "attack"
    _, v = verdicts(_fam(coordination=1.0, automation=0.8), p, member, own_score=np.array([0.45]))
    assert v[0] == "attack"


def test_intel_corroborates_but_never_convicts_alone() -> None:
    p = ScoringParams()
    _, alone = verdicts(_fam(intel=1.0), p)
    _, with_local = verdicts(_fam(intel=0.6, extraction=0.6), p)
    assert alone[0] != "attack" and with_local[0] == "attack"


def test_enrich_tag_names_feed_cot_and_extraction() -> None:
    names = ["tag_cot", "tag_reasoning_reconstruct", "tag_forced_language", "tag_rubric", "tag_rewrite", "x"]
    out = tag_columns(names)
    assert "tag_cot" in out["cot"] and "tag_reasoning_reconstruct" in out["cot"]
    for tag in ("tag_forced_language", "tag_rubric", "tag_rewrite"):
        assert tag in out["extraction_tag"]


def _uneven_fleet_family(w: World, k: int = 40, fam: int = 71_717) -> None:
    """A fleet on one harvest family, one card per account, quotas spread lognormally (an
    operator hands its accounts uneven shares of the task set); a sixth of each account's
    traffic is other work."""
    for i in range(k):
        n = max(8, int(w.rng.lognormal(np.log(25), 1.0)))
        own = w.rng.random(n) < 0.15
        w._add(
            f"unv{i:02d}",
            day_times(w, n, 2),
            "attack_fleet",
            template_family=np.where(own, w.rng.integers(10_000, 10_000_000, n), fam),
            tag_cot=~own,
            prompt=[f"unv{i} task {j}" for j in range(n)],
        )


def test_busy_members_of_an_unevenly_spread_fleet_stay_members() -> None:
    """Fleet members far above the family's median volume (5x and more) are still members
    while they sit inside the family's own spread of member volumes."""
    w = World(seed=6)
    _people(w, 60)
    _uneven_fleet_family(w)
    volumes = {a: sum(1 for x in w.rows["account_id"] if x == a) for a in w.accounts("unv")}
    median = float(np.median(list(volumes.values())))
    busy = {a for a, v in volumes.items() if v > 5 * median}
    assert busy, "the lognormal quotas give the fleet members above 5x the median"
    out = _signals(w, CoordinationDetector())
    assert busy <= fired(out, "shared_harvest_template")


def test_enterprise_seats_on_one_card_in_a_fleet_family_are_not_members() -> None:
    """A company runs one batch job in the fleet's reasoning frame on 30 seats of one card:
    each seat is within the accounts' spread (the seats are a third of the family), but the
    customer's slice is far beyond the family's customers: a heavy independent user."""
    w = World(seed=7)
    _people(w, 60)
    _uneven_fleet_family(w)
    for i in range(30):
        w._add(
            f"seat{i:02d}",
            w.regular_times(600, 200.0, 0.3),
            "benign_enterprise_batch",
            payment_fingerprint="pay-corp",
            ip_kind="hosting",
            client_ip="34.120.9.9",
            template_family=71_717,
            tag_cot=True,
            prompt=[f"seat{i} doc {j}" for j in range(600)],
        )
    out = _signals(w, CoordinationDetector())
    assert not w.accounts("seat") & (fired(out, "shared_harvest_template") | fired(out, "shared_template"))
    assert len(w.accounts("unv") & fired(out, "shared_harvest_template")) >= 30


def test_heavy_app_in_a_fleet_family_is_not_a_member() -> None:
    """One app sends its users' questions in the fleet's reasoning frame, 200x the fleet's
    median member: far beyond the family's own spread of member volumes."""
    w = World(seed=8)
    _people(w, 60)
    _uneven_fleet_family(w)
    w._add(
        "app00",
        w.regular_times(4000, 50.0, 0.5),
        "benign_reasoning_app",
        ip_kind="hosting",
        client_ip="35.9.9.1",
        template_family=71_717,
        tag_cot=True,
        prompt=[f"app user q{j}" for j in range(4000)],
    )
    out = _signals(w, CoordinationDetector())
    assert "app00" not in fired(out, "shared_harvest_template") | fired(out, "shared_template")
    assert len(w.accounts("unv") & fired(out, "shared_harvest_template")) >= 30
