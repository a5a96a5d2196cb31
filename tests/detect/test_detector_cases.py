"""Each detector on hand-made cases: where it must fire, and each hard negative where it must not."""

from __future__ import annotations

from dg_detect_world import World, detection_context, fired

from distillguard.detectors import (
    AutomationDetector,
    CoordinationDetector,
    ExtractionDetector,
    TrafficDetector,
)


def _world(**personas: int) -> World:
    w = World(seed=7)
    w.hobbyists(120)
    for name, k in personas.items():
        getattr(w, name)(k)
    return w


def test_coordination_fires_on_fleets_not_on_hard_negatives() -> None:
    w = _world(sync_harvest=15, low_and_slow=25, university=25, team_card=5, eval_harness=3, relay_users=10)
    out = CoordinationDetector().detect(detection_context(w.table()))
    sync = {a for a in w.labels if a.startswith("sync")}
    lns = {a for a in w.labels if a.startswith("lns")}
    assert sync <= fired(out, "shared_payment"), "15 accounts on one card running one job"
    assert len(lns & fired(out, "shared_harvest_template")) >= 0.9 * len(lns)
    negatives = {a for a, p in w.labels.items() if p.startswith("benign")}
    strong = {
        a
        for a, s in zip(out["account_id"].to_pylist(), out["strength"].to_pylist(), strict=True)
        if s >= 0.5 and a in negatives
    }
    cross = fired(out, "shared_harvest_template") | fired(out, "synchronized") | fired(out, "shared_payment")
    assert not (cross & negatives), sorted(cross & negatives)
    assert not {a for a in strong if a.startswith(("edu", "team", "evl", "icl"))} - fired(
        out, "created_together"
    )


def test_university_nat_is_not_synchronized_fleet() -> None:
    """Thirty students behind one campus address, same assignment, same hour."""
    w = _world(university=30)
    out = CoordinationDetector().detect(detection_context(w.table()))
    edu = {a for a in w.labels if a.startswith("edu")}
    assert not (
        edu & (fired(out, "synchronized") | fired(out, "shared_template") | fired(out, "created_together"))
    )


def test_team_sharing_a_card_is_not_a_fleet() -> None:
    w = _world(team_card=8)
    out = CoordinationDetector().detect(detection_context(w.table()))
    assert not fired(out, "shared_payment") & {a for a in w.labels if a.startswith("team")}


def test_automation_machine_timing_and_relay_exemption() -> None:
    w = _world(sync_harvest=10, relay_users=15)
    out = AutomationDetector().detect(detection_context(w.table()))
    sync = {a for a in w.labels if a.startswith("sync")}
    assert sync <= fired(out, "machine_timing")
    assert sync <= fired(out, "hosting_egress")
    relay = {a for a in w.labels if a.startswith("icl")}
    assert not relay & fired(out, "ip_rotation"), "iCloud Private Relay hops IPs by design"
    hob = {a for a in w.labels if a.startswith("hob")}
    assert len(hob & fired(out, "machine_timing")) <= 2


def test_traffic_is_tier_aware_and_fires_on_volume() -> None:
    w = _world(enterprise=2)
    out = TrafficDetector().detect(detection_context(w.table()))
    assert {"ent0", "ent1"} <= fired(out, "volume_outlier") | fired(out, "burst_outlier")
    hob = {a for a in w.labels if a.startswith("hob")}
    assert len(hob & fired(out, "volume_outlier")) <= 2


def test_extraction_reads_content_and_skips_without_prompts() -> None:
    w = _world(eval_harness=2, low_and_slow=10)
    ctx = detection_context(w.table())
    out = ExtractionDetector().detect(ctx)
    assert {"evl0", "evl1"} <= fired(out, "cot_elicitation_share")
    hob = {a for a in w.labels if a.startswith("hob")}
    assert len(hob & fired(out, "cot_elicitation_share")) <= 2
    from distillguard.detectors import run_detectors

    ctx_meta = detection_context(w.table(), has_prompts=False)
    assert "extraction" not in set(run_detectors(ctx_meta)["family"].to_pylist())
