"""The fleet-group rule: a fleet's thin members (no evidence of their own) become attacks only
when their card is mostly proven attackers (opened after the first of them), or their signup
burst is AND a card ties them to proven attackers -- and every hard negative of the issue
stays where it was: an enterprise on one corporate card with a flagged account, the real
owner of a card a fleet stole, students signing up together behind one campus address, users
of an agent framework a fleet also uses, VPN / relay users sharing exits with a fleet."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from distillguard.campaigns import CampaignParams
from distillguard.campaigns._fleet_group import fleet_group_links
from distillguard.campaigns._lifts import fleet_group_lift
from distillguard.campaigns.graph import GraphParams
from distillguard.detectors.base import DetectionContext
from distillguard.schema import SIGNALS_SCHEMA
from distillguard.scoring import ScoringParams

T0 = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
BURST = 5  #: accounts created in one 10-minute bucket from which it is a creation burst


def _ctx(
    created_min: dict[str, float],
    payment: dict[str, str] | None = None,
    fams: list[tuple[str, str]] | None = None,
    ips: list[tuple[str, str]] | None = None,
    n_pop: int = 3000,
) -> DetectionContext:
    """Named accounts created ``created_min`` minutes after T0 (filler accounts one per
    13 hours, never in a burst), with cards, template families and datacenter IPs."""
    payment, fams, ips = payment or {}, fams or [], ips or []
    named = set(created_min) | set(payment) | {a for a, _ in fams} | {a for a, _ in ips}
    filler = [f"z{i:05d}" for i in range(max(0, n_pop - len(named)))]
    ids = sorted(named | set(filler))
    minutes = {**{z: -60.0 * 13 * (i + 1) for i, z in enumerate(filler)}, **created_min}
    created = [T0 + dt.timedelta(minutes=minutes.get(a, -1e6)) for a in ids]
    pay = np.array([payment.get(a) for a in ids], dtype=object)
    sizes: dict[str, int] = {}
    for v in payment.values():
        sizes[v] = sizes.get(v, 0) + 1
    features = pa.table(
        {
            "account_id": pa.array(ids, pa.string()),
            "payment": pa.array(pay.tolist(), pa.string()),
            "created_at": pa.array(created, pa.timestamp("us", tz="UTC")),
        }
    )
    cache = {
        "payment_size": np.array([sizes.get(v, 1) if v is not None else 1 for v in pay], dtype=np.float64),
        "fleet_members": pa.table(
            {"account_id": pa.array([a for a, _ in fams], pa.string()), "fam": pa.array([f for _, f in fams])}
        ),
        "hosting_ips": pa.table(
            {"account_id": pa.array([a for a, _ in ips], pa.string()), "ip": pa.array([i for _, i in ips])}
        ),
        "created_threshold": float(BURST),
        "created_bucket_s": 600,
        "created_colocated": np.zeros(len(ids), dtype=bool),
    }
    return DetectionContext(None, "ev", features, True, cache=cache)


def _links(ctx: DetectionContext, suspects: list[str], proven: list[str]) -> dict:
    p = CampaignParams()
    return fleet_group_links(
        ctx,
        np.array(suspects, dtype=object),
        np.array(proven, dtype=object),
        GraphParams(),
        kinds=p.fleet_kinds,
        min_proven=p.fleet_min_proven,
        min_share=p.fleet_min_share,
        max_group=p.corroborated_max_group,
        min_other=p.fleet_min_other,
        coincidence_kinds=p.fleet_coincidence_kinds,
        solo_kinds=p.fleet_solo_kinds,
    )


def _hydra(thin_created: float = 600.0):
    """A replacement chain on one card: five proven attackers opened days apart (one per day)
    and a thin replacement, all on the fleet's harvest template family."""
    fleet = [f"h{i}" for i in range(5)]
    created = {a: 1440.0 * i for i, a in enumerate(fleet)} | {"thin": thin_created}
    payment = dict.fromkeys([*fleet, "thin"], "card-h")
    fams = [(a, "harvest") for a in [*fleet, "thin"]]
    return fleet, created, payment, fams


def test_thin_replacement_on_a_fleet_card_with_the_fleet_template_is_lifted() -> None:
    fleet, created, payment, fams = _hydra()
    links = _links(_ctx(created, payment, fams), ["thin"], fleet)
    assert links == {"thin": ("payment", 5, 1.0, ["template"])}


def test_fleet_card_alone_lifts_an_account_opened_after_its_first_attacker() -> None:
    """Same card as five proven attackers, nothing else shared (a replacement that sent a few
    ordinary prompts): a card is no coincidence, it is the operator's own instrument."""
    fleet, created, payment, fams = _hydra()
    fams = [f for f in fams if f[0] != "thin"]
    assert _links(_ctx(created, payment, fams), ["thin"], fleet) == {"thin": ("payment", 5, 1.0, [])}


def test_signup_burst_alone_is_not_enough() -> None:
    """Opened in the same ten minutes as five proven attackers, nothing else shared: a signup
    minute is a coincidence strangers share."""
    fleet = [f"b{i}" for i in range(5)]
    created = dict.fromkeys([*fleet, "thin"], 5.0)
    assert _links(_ctx(created), ["thin"], fleet) == {}


def test_real_owner_of_a_stolen_card_is_not_lifted() -> None:
    """The owner opened the account before the fleet used the card, and happens to use the
    same public framework template as the fleet: card + template, but opened first."""
    fleet, created, payment, fams = _hydra(thin_created=-90 * 1440.0)
    assert _links(_ctx(created, payment, fams), ["thin"], fleet) == {}


def test_enterprise_on_one_corporate_card_with_flagged_accounts_is_not_lifted() -> None:
    """Twenty accounts on one corporate card, opened in one provisioning burst, all on the
    company's agent template; one -- then two, then four -- of them flagged as attackers."""
    staff = [f"e{i:02d}" for i in range(20)]
    created = {a: float(i % 5) for i, a in enumerate(staff)}  # one 10-minute burst
    payment = dict.fromkeys(staff, "corp")
    fams = [(a, "corp-agent") for a in staff]
    ctx = _ctx(created, payment, fams)
    for flagged in (1, 2, 4):
        assert _links(ctx, staff[flagged:], staff[:flagged]) == {}


def test_students_signing_up_together_behind_one_address_are_not_lifted() -> None:
    """A class of 30 signs up in one 10-minute burst behind the campus NAT (a shared IP in the
    hosting table here, the worst case), all on the course's framework template; three of
    them run a harvesting script and are proven attackers."""
    cls = [f"s{i:02d}" for i in range(30)]
    created = {a: float(i % 9) for i, a in enumerate(cls)}
    fams = [(a, "course-framework") for a in cls]
    ips = [(a, "10.1.1.1") for a in cls]
    assert _links(_ctx(created, {}, fams, ips), cls[3:], cls[:3]) == {}


def test_agent_framework_and_vpn_users_sharing_with_a_fleet_are_not_lifted() -> None:
    """Users of the framework a fleet also uses share its template family, and VPN users its
    exit IP, with many proven attackers: no card or signup batch of theirs is a fleet group."""
    fleet = [f"f{i:03d}" for i in range(40)]
    users = [f"u{i:02d}" for i in range(10)]
    created = {a: 1440.0 * i for i, a in enumerate(fleet)} | {
        u: 1440.0 * i + 700 for i, u in enumerate(users)
    }
    fams = [(a, "popular-framework") for a in fleet + users]
    ips = [(a, "vpn-exit-1") for a in fleet[:12] + users]
    assert _links(_ctx(created, {}, fams, ips), users, fleet) == {}


def test_fleet_group_lift_is_an_attack_scored_at_the_threshold_with_a_named_reason() -> None:
    """Through the campaign step: lifted to attack, scored at least ``attack_score``, reason
    ``fleet_group``; card-mates that are attacks only by membership do not count as proven."""
    sp = ScoringParams()
    fleet, created, payment, fams = _hydra()
    ctx = _ctx(created, payment, fams)
    acc = ctx.features["account_id"].to_numpy(zero_copy_only=False).astype(object)
    is_fleet = np.isin(acc, fleet)
    first = {"score": np.where(is_fleet, 0.5, 0.0)}
    final = {
        "account_id": acc,
        "verdict": np.where(is_fleet, "attack", np.where(acc == "thin", "suspicious", "clear")),
        "score": np.where(is_fleet, 0.8, np.where(acc == "thin", 0.45, 0.0)),
        "reasons": [["campaign_member"] if a == "thin" else [] for a in acc],
    }
    out, signals = fleet_group_lift(
        ctx, first, final, SIGNALS_SCHEMA.empty_table(), CampaignParams(), None, sp
    )
    thin = int(np.flatnonzero(acc == "thin")[0])
    assert out["verdict"][thin] == "attack" and out["score"][thin] == sp.attack_score
    assert out["reasons"][thin] == ["campaign_member", "fleet_group"]
    ev = signals.filter(pc.equal(signals["signal"], "fleet_group"))
    assert ev["account_id"].to_pylist() == ["thin"] and "5 proven attackers" in ev["evidence"][0].as_py()
    # the fleet's own evidence below member_min_own_score: attacks by membership only, not proof
    first = {"score": np.where(is_fleet, sp.member_min_own_score - 0.01, 0.0)}
    out, signals = fleet_group_lift(
        ctx, first, final, SIGNALS_SCHEMA.empty_table(), CampaignParams(), None, sp
    )
    assert out["verdict"][thin] == "suspicious" and signals.num_rows == 0
    # disabled by an empty kind list
    out, _ = fleet_group_lift(
        ctx,
        {"score": np.where(is_fleet, 0.5, 0.0)},
        final,
        SIGNALS_SCHEMA.empty_table(),
        CampaignParams(fleet_kinds=()),
        None,
        sp,
    )
    assert out["verdict"][thin] == "suspicious"


def test_signup_burst_with_a_template_is_not_enough_a_card_is() -> None:
    """Six fleet accounts opened in one burst; a stranger signed up in the same minutes on the
    public framework template the fleet also uses: a coincidence of two common things. The
    same burst member on a card two proven attackers also use is lifted."""
    fleet = [f"b{i}" for i in range(6)]
    created = {a: float(i) for i, a in enumerate([*fleet, "thin"])}
    fams = [(a, "framework") for a in [*fleet, "thin"]]
    assert _links(_ctx(created, {}, fams), ["thin"], fleet) == {}
    payment = {"b0": "c1", "b1": "c1", "thin": "c1"}
    links = _links(_ctx(created, payment, fams), ["thin"], fleet)
    assert links == {"thin": ("created_together", 6, 1.0, ["payment", "template"])}
