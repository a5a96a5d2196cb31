"""Ordinary customers: the bulk of benign traffic, sized from real ServeGen clients.

Tier mix follows what a provider sees (mostly free and paid, a few edu/startup/research,
very few enterprise). People work in sessions in their own timezone; app backends replay
real ServeGen per-client rate curves; reasoning users take DeepSeek-R1 token profiles.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from _h2_clients import clients
from _h2_clock import LOCAL_HOUR_WEIGHTS, OFFICE_HOUR_WEIGHTS, human_sessions, servegen_replay
from _h2_common import (
    DAYS,
    MODEL_LEGACY,
    MODEL_MINI,
    MODEL_NEW,
    MODEL_REASON,
    MODEL_STD,
    RELEASE_US,
    START_US,
    Pop,
    accounts_block,
    cards,
    hex_ids,
    pick,
)
from _h2_frame import source_mix
from _h2_text import sample_text
from _h2_world import World, created_before, tz_of

#: Share of an ordinary user's requests that try the new model once it is out.
NEW_MODEL_CURIOSITY = 0.08
#: Share of production apps still pinned to the legacy model (so it is not attacker-only).
LEGACY_PINNED_SHARE = 0.15
#: Share of developers who switch most of their traffic to the new model on release day.
EARLY_ADOPTER_SHARE = 0.15


def _models(
    rng: np.random.Generator, ts: np.ndarray, p_mini: float, p_reason: float, adopt: np.ndarray
) -> np.ndarray:
    u = rng.random(len(ts))
    m = np.where(u < p_mini, MODEL_MINI, np.where(u < p_mini + p_reason, MODEL_REASON, MODEL_STD)).astype(
        object
    )
    after = ts >= RELEASE_US
    p_new = np.where(adopt, 0.6, NEW_MODEL_CURIOSITY)
    m[after & (rng.random(len(ts)) < p_new)] = MODEL_NEW
    return m


def _people(
    rng: np.random.Generator,
    w: World,
    n: int,
    *,
    persona: str,
    tiers: dict[str, float],
    client_kind: str,
    sess_per_day: float,
    req_per_sess: float,
    pools: list[str],
    pool_w: list[float],
    p_mini: float,
    p_reason: float,
    office: bool = False,
    adopt_share: float = 0.0,
    cloud_share: float = 0.0,
) -> Pop:
    country = w.countries(rng, n)
    tier = pick(rng, list(tiers), n, list(tiers.values()))
    pay = np.where(tier == "free", None, cards(rng, n)).astype(object)
    ac = accounts_block(
        rng,
        n,
        persona=persona,
        tier=tier,
        created_us=created_before(rng, n, 200, 1.1),
        country=country,
        payment=pay,
        source=source_mix(rng, n),
    )
    ac["ua"], ac["ja4"] = clients(rng, n, client_kind)
    activity = np.exp(0.9 * rng.standard_normal(n))  # heavy-tailed per-person activity
    acct, ts, sess = human_sessions(
        rng,
        day_lo=np.zeros(n, np.int64),
        day_hi=np.full(n, DAYS, np.int64),
        sess_per_day=sess_per_day * activity,
        req_per_sess=np.full(n, req_per_sess),
        tz_hours=tz_of(country),
        gap_median_s=40.0,
        weights=OFFICE_HOUR_WEIGHTS if office else LOCAL_HOUR_WEIGHTS,
    )
    m = len(acct)
    prompt = sample_text(rng, [w.corpus.text[p] for p in pools], pool_w, m)
    model = _models(rng, ts, p_mini, p_reason, (rng.random(n) < adopt_share)[acct])
    prof = w.token_profile(rng, n, "chat")
    tok = w.tokens(rng, prof, acct, [prompt])
    rprof = w.token_profile(rng, n, "reason")
    rtok = w.tokens(rng, rprof, acct, [prompt])
    is_r = (model == MODEL_REASON) | (model == MODEL_NEW)
    in_cloud = rng.random(n) < cloud_share
    ip = w.home_ips(rng, country, acct, ts)
    if in_cloud.any():
        cloud_ip = w.pool_ips(rng, w.net.aws, n)
        ip = pc.if_else(pa.array(in_cloud[acct]), pa.array(cloud_ip[acct].tolist(), pa.string()), ip)
    sess_id = hex_ids(rng, int(sess.max()) + 1 if m else 0, 8, "conv_")
    ev = {
        "acct": acct,
        "ts": ts,
        "model": model,
        "prompt": prompt,
        "ip": ip,
        "conv": sess_id[sess],
        "in_tok": np.where(is_r, rtok["in_tok"], tok["in_tok"]),
        "out_tok": np.where(is_r, rtok["out_tok"] + rtok["reason_tok"], tok["out_tok"]),
        "reason_tok": pa.array(rtok["reason_tok"], pa.int64(), mask=~is_r),
        "has_image": rng.random(m) < 0.03,
    }
    return Pop(ac, ev)


def casual(rng: np.random.Generator, w: World, n: int) -> Pop:
    """Hobbyists and writers on free/paid plans: short sessions, mixed clients."""
    return _people(
        rng,
        w,
        n,
        persona="benign_casual",
        tiers={"free": 0.72, "paid": 0.28},
        client_kind="mixed",
        sess_per_day=0.55,
        req_per_sess=3.5,
        pools=["sharegpt", "arena", "mtbench", "actas", "simpleqa"],
        pool_w=[0.6, 0.1, 0.05, 0.15, 0.1],
        p_mini=0.55,
        p_reason=0.07,
    )


def developers(rng: np.random.Generator, w: World, n: int) -> Pop:
    """Developers iterating on an integration in office hours; some adopt the new model at once."""
    return _people(
        rng,
        w,
        n,
        persona="benign_developer",
        tiers={"paid": 0.85, "free": 0.15},
        client_kind="sdk",
        sess_per_day=0.95,
        req_per_sess=6.0,
        pools=["sharegpt", "arena", "mbpp", "humaneval"],
        pool_w=[0.7, 0.2, 0.07, 0.03],
        p_mini=0.3,
        p_reason=0.12,
        office=True,
        adopt_share=EARLY_ADOPTER_SHARE,
        cloud_share=0.25,
    )


def students(rng: np.random.Generator, w: World, n: int) -> Pop:
    """Individual edu-tier students (not the MOOC cohort): homework-ish prompts, evenings."""
    p = _people(
        rng,
        w,
        n,
        persona="benign_student",
        tiers={"edu": 1.0},
        client_kind="browser",
        sess_per_day=0.7,
        req_per_sess=4.0,
        pools=["sharegpt", "gsm8k_train", "math_bare", "mbpp"],
        pool_w=[0.55, 0.2, 0.15, 0.1],
        p_mini=0.5,
        p_reason=0.2,
    )
    p.accounts["payment"][:] = None
    return p


def backends(
    rng: np.random.Generator,
    w: World,
    n: int,
    *,
    persona: str,
    tiers: dict[str, float],
    per_day_median: float,
    reasoning: bool = False,
    created_median: float = 300,
    p_legacy: float = 0.0,
) -> Pop:
    """Production apps: real ServeGen per-client rate curves from a few cloud egress IPs."""
    country = pick(rng, ["US", "DE", "GB", "JP", "IN", "FR", "CA"], n, [50, 10, 10, 8, 8, 7, 7])
    tier = pick(rng, list(tiers), n, list(tiers.values()))
    zdr = (tier == "enterprise") & (rng.random(n) < 0.7)
    src = np.where(zdr, "zdr", source_mix(rng, n)).astype(object)
    ac = accounts_block(
        rng,
        n,
        persona=persona,
        tier=tier,
        created_us=created_before(rng, n, created_median, 0.8, 7),
        country=country,
        payment=np.where(tier == "enterprise", None, cards(rng, n)),
        source=src,
    )
    ac["ua"], ac["ja4"] = clients(rng, n, "sdk")
    rates = w.corpus.stats["reason_rates" if reasoning else "chat_rates"]
    client = rng.choice(np.unique(rates["client_id"]), size=n)
    per_day = np.exp(np.log(per_day_median) + 0.8 * rng.standard_normal(n))
    acct, ts = servegen_replay(rng, rates=rates, client=client, per_day=per_day, t0=np.full(n, START_US))
    m = len(acct)
    sys_pool = w.corpus.text["actas"]
    sys_idx = rng.integers(len(sys_pool), size=n)
    has_sys = rng.random(n) < 0.7
    system = pc.if_else(
        pa.array(has_sys[acct]), sys_pool.take(pa.array(sys_idx[acct])), pa.nulls(m, pa.string())
    )
    pools = (
        ["math_bare", "bbh", "gsm8k_test", "sharegpt"]
        if reasoning
        else ["sharegpt", "arena", "user_oriented"]
    )
    weights = [0.3, 0.2, 0.2, 0.3] if reasoning else [0.8, 0.1, 0.1]
    prompt = sample_text(rng, [w.corpus.text[p] for p in pools], weights, m)
    prof = w.token_profile(rng, n, "reason" if reasoning else "chat")
    tok = w.tokens(rng, prof, acct, [prompt, system])
    cloud = [w.net.aws, w.net.gcp, w.net.azure]
    egress = np.stack([w.pool_ips(rng, cloud[k % 3], n) for k in range(4)], axis=1)
    n_egress = rng.integers(1, 5, size=n)
    ip = egress[acct, (rng.integers(0, 4, m) % n_egress[acct])]
    keys = hex_ids(rng, n * 3, 6, "key_").reshape(n, 3)
    ev = {
        "acct": acct,
        "ts": ts,
        "prompt": prompt,
        "system": system,
        "ip": ip,
        # integrations pinned to the old model years ago and never migrated
        "model": np.where(
            (rng.random(n) < p_legacy)[acct],
            MODEL_LEGACY,
            np.where(reasoning, MODEL_REASON, pick(rng, [MODEL_STD, MODEL_MINI], n)[acct]),
        ).astype(object),
        "in_tok": tok["in_tok"],
        "out_tok": tok["out_tok"] + tok.get("reason_tok", 0),
        "reason_tok": tok.get("reason_tok"),
        "api_key": keys[acct, rng.integers(0, 3, m)],
        "end_user": np.where((rng.random(n) < 0.4)[acct], hex_ids(rng, m, 5, "u_"), None).astype(object),
        "stream": rng.random(m) < 0.3,
    }
    return Pop(ac, ev)


def ordinary(rng: np.random.Generator, w: World, scale: float) -> list[Pop]:
    """All ordinary populations at ``scale`` (1.0 = full size)."""

    def k(x: int) -> int:
        return max(2, round(x * scale))

    return [
        casual(rng, w, k(3000)),
        developers(rng, w, k(1900)),
        students(rng, w, k(250)),
        backends(
            rng,
            w,
            k(45),
            persona="benign_app_backend",
            tiers={"paid": 0.7, "enterprise": 0.3},
            per_day_median=250,
            p_legacy=LEGACY_PINNED_SHARE,
        ),
        backends(
            rng,
            w,
            k(80),
            persona="benign_startup_app",
            tiers={"startup": 1.0},
            per_day_median=40,
            created_median=45,
            p_legacy=LEGACY_PINNED_SHARE / 2,
        ),
        backends(
            rng,
            w,
            k(20),
            persona="benign_research_lab",
            tiers={"research": 1.0},
            per_day_median=200,
            reasoning=True,
        ),
        backends(rng, w, k(25), persona="benign_enterprise", tiers={"enterprise": 1.0}, per_day_median=300),
    ]
