"""Hard negatives, part 2: shared-card office, carrier CGNAT, privacy relays, rubric vendor,
and `hard_negatives()` which assembles all of them (see `_h2_hardneg` for part 1)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from _h2_clients import clients, ja4
from _h2_clock import OFFICE_HOUR_WEIGHTS, human_sessions
from _h2_common import (
    DAY_US,
    DAYS,
    HOUR_US,
    MODEL_MINI,
    MODEL_STD,
    START_US,
    US,
    Pop,
    accounts_block,
    cards,
    hex_ids,
    pick,
)
from _h2_frame import source_mix
from _h2_hardneg import _const, agent_platform, bench_nightly, mooc, saas_relay
from _h2_hardneg3 import oss_agent_users
from _h2_text import (
    CONSULTANCY_TEMPLATES,
    RUBRIC_TEMPLATE_MID,
    RUBRIC_TEMPLATE_PRE,
    sample_text,
    wrap,
)
from _h2_world import World, created_before, tz_of


def consultancy(rng: np.random.Generator, w: World, n: int = 30) -> Pop:
    """30 consultants on one company card behind one office IP using a shared prompt library:
    imitates shared payment, shared infra and template reuse."""
    onboard = START_US - 90 * DAY_US + (rng.random(n) * 3 * HOUR_US).astype(np.int64)
    ac = accounts_block(
        rng,
        n,
        persona="benign_consultancy",
        tier="paid",
        created_us=onboard,
        country="DE",
        payment=cards(rng, 1)[0],
        source="gw-main",
    )
    ac["ua"], ac["ja4"] = clients(rng, n, "browser")
    acct, ts, sess = human_sessions(
        rng,
        day_lo=np.zeros(n, np.int64),
        day_hi=np.full(n, DAYS, np.int64),
        sess_per_day=np.full(n, 3.0),
        req_per_sess=np.full(n, 3.0),
        tz_hours=np.full(n, 1.0),
        weights=OFFICE_HOUR_WEIGHTS,
    )
    m = len(acct)
    body = sample_text(rng, [w.corpus.text["sharegpt"], w.corpus.text["user_oriented"]], [0.6, 0.4], m)
    prompt, _ = wrap(rng, body, CONSULTANCY_TEMPLATES)
    office = w.pool_ips(rng, w.net.residential, 1)[0]
    tok = w.tokens(rng, w.token_profile(rng, n, "chat"), acct, [prompt])
    ev = {
        "acct": acct,
        "ts": ts,
        "prompt": prompt,
        "ip": _const(m, office),
        "model": _const(m, MODEL_STD),
        "in_tok": tok["in_tok"],
        "out_tok": tok["out_tok"],
        "conv": hex_ids(rng, int(sess.max()) + 1, 8, "conv_")[sess],
    }
    return Pop(ac, ev)


def mobile_cgnat(rng: np.random.Generator, w: World, n: int = 500) -> Pop:
    """Phone users behind carrier CGNAT: a few dozen egress IPs (and RFC 6598 space seen via a
    carrier partner gateway) shared by hundreds of unrelated people: imitates shared infra."""
    country = pick(rng, ["US", "IN", "ID", "PH"], n, [0.5, 0.25, 0.15, 0.1])
    ac = accounts_block(
        rng,
        n,
        persona="benign_mobile_cgnat",
        tier=pick(rng, ["free", "paid"], n, [0.8, 0.2]),
        created_us=created_before(rng, n, 150),
        country=country,
        source=source_mix(rng, n),
    )
    ac["payment"] = np.where(ac["tier"] == "paid", cards(rng, n), None)
    ac["ua"], ac["ja4"] = clients(rng, n, "mobile")
    acct, ts, sess = human_sessions(
        rng,
        day_lo=np.zeros(n, np.int64),
        day_hi=np.full(n, DAYS, np.int64),
        sess_per_day=np.full(n, 1.6),
        req_per_sess=np.full(n, 2.5),
        tz_hours=tz_of(country),
        gap_median_s=25,
    )
    m = len(acct)
    egress = w.pool_ips(rng, w.net.mobile, 40)
    cg = w.pool_ips(rng, w.net.cgnat, 200)
    kind = rng.random(m)
    ip = np.where(kind < 0.2, cg[rng.integers(0, 200, m)], egress[rng.integers(0, 40, m)]).astype(object)
    v6 = w.mobile_ips(rng, m)
    ip = pc.if_else(pa.array(kind > 0.72), v6, pa.array(ip.tolist(), pa.string()))
    prompt = sample_text(
        rng,
        [w.corpus.text["sharegpt"], w.corpus.text["simpleqa"], w.corpus.text["actas"]],
        [0.6, 0.3, 0.1],
        m,
    )
    tok = w.tokens(rng, w.token_profile(rng, n, "chat"), acct, [prompt])
    ev = {
        "acct": acct,
        "ts": ts,
        "prompt": prompt,
        "ip": ip,
        "model": pick(rng, [MODEL_MINI, MODEL_STD], m, [0.7, 0.3]),
        "in_tok": tok["in_tok"],
        "out_tok": tok["out_tok"],
        "conv": hex_ids(rng, int(sess.max()) + 1, 8, "conv_")[sess],
        "has_image": rng.random(m) < 0.08,
        "stream": np.ones(m, bool),
    }
    return Pop(ac, ev)


def privacy_relay(rng: np.random.Generator, w: World, n: int = 300) -> Pop:
    """iCloud Private Relay and Cloudflare WARP users: egress rotates per session inside
    provider-owned ranges shared with many strangers: imitates proxy rotation."""
    country = w.countries(rng, n)
    apple = rng.random(n) < 0.6
    ac = accounts_block(
        rng,
        n,
        persona="benign_privacy_relay",
        tier=pick(rng, ["free", "paid"], n, [0.6, 0.4]),
        created_us=created_before(rng, n, 250),
        country=country,
        source=source_mix(rng, n),
    )
    ac["payment"] = np.where(ac["tier"] == "paid", cards(rng, n), None)
    ua_b, fp_b = clients(rng, n, "browser")
    ac["ua"] = np.where(
        apple,
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/17.4 Safari/605.1.15",
        ua_b,
    ).astype(object)
    ac["ja4"] = np.where(apple, ja4("safari"), fp_b).astype(object)
    acct, ts, sess = human_sessions(
        rng,
        day_lo=np.zeros(n, np.int64),
        day_hi=np.full(n, DAYS, np.int64),
        sess_per_day=np.full(n, 1.0),
        req_per_sess=np.full(n, 3.5),
        tz_hours=tz_of(country),
    )
    m = len(acct)
    from _h2_net import WARP_V6, fmt_v6, v6_hextets

    apple4 = w.pool_ips(rng, w.net.apple, 150)
    warp4 = w.pool_ips(rng, w.net.warp, 150)
    s_pick = rng.integers(0, 150, int(sess.max()) + 1)
    v4 = np.where(apple[acct], apple4[s_pick[sess]], warp4[s_pick[sess]]).astype(object)
    a6 = fmt_v6(v6_hextets(rng, w.net.apple_v6, m))
    c6 = fmt_v6(v6_hextets(rng, WARP_V6, m))
    v6 = pc.if_else(pa.array(apple[acct]), a6, c6)
    ip = pc.if_else(
        pa.array((rng.random(int(sess.max()) + 1) < 0.4)[sess]), v6, pa.array(v4.tolist(), pa.string())
    )
    prompt = sample_text(rng, [w.corpus.text["sharegpt"], w.corpus.text["arena"]], [0.8, 0.2], m)
    tok = w.tokens(rng, w.token_profile(rng, n, "chat"), acct, [prompt])
    ev = {
        "acct": acct,
        "ts": ts,
        "prompt": prompt,
        "ip": ip,
        "model": pick(rng, [MODEL_MINI, MODEL_STD], m),
        "in_tok": tok["in_tok"],
        "out_tok": tok["out_tok"],
        "conv": hex_ids(rng, int(sess.max()) + 1, 8, "conv_")[sess],
    }
    return Pop(ac, ev)


def rubric_vendor(rng: np.random.Generator, w: World, per_day: int = 5500) -> Pop:
    """A data-labelling vendor using the model as a rubric grader, one enterprise account,
    batch jobs at a steady rate: imitates 'model as reward model' harvesting."""
    ac = accounts_block(
        rng,
        1,
        persona="benign_rubric_vendor",
        tier="enterprise",
        created_us=created_before(rng, 1, 500, 0.1),
        country="PH",
        source="gw-main",
    )
    ac["ua"], ac["ja4"] = _const(1, "python-requests/2.32.3"), _const(1, ja4("py_ssl"))
    rows = []
    for d in range(DAYS):  # one batch job per working shift
        t0 = START_US + d * DAY_US + int((1.0 + rng.random()) * HOUR_US)  # 09:00-10:00 Manila
        k = max(10, int(per_day * rng.uniform(0.8, 1.2)))
        rows.append(t0 + (np.arange(k) * 4.8 * US + rng.normal(0, 0.8, k) * US).astype(np.int64))
    ts = np.concatenate(rows)
    m = len(ts)
    acct = np.zeros(m, np.int64)
    inst = sample_text(rng, [w.corpus.text["alpaca_tasks"], w.corpus.text["user_oriented"]], [0.8, 0.2], m)
    resp = sample_text(rng, [w.corpus.text["sharegpt"]], [1.0], m)
    prompt = pc.binary_join_element_wise(
        pa.scalar(RUBRIC_TEMPLATE_PRE),
        inst,
        pa.scalar(RUBRIC_TEMPLATE_MID),
        pc.utf8_slice_codeunits(resp, 0, 800),
        "",
    )
    tok = w.tokens(rng, w.token_profile(rng, 1, "chat"), acct, [prompt])
    keys = hex_ids(rng, 6, 6, "key_")
    ev = {
        "acct": acct,
        "ts": ts,
        "prompt": prompt,
        "ip": w.pool_ips(rng, w.net.azure, 2)[rng.integers(0, 2, m)],
        "model": _const(m, MODEL_STD),
        "in_tok": tok["in_tok"],
        "out_tok": np.minimum(tok["out_tok"], 90) + 20,
        "temperature": np.zeros(m),
        "api_key": keys[rng.integers(0, 6, m)],
        "stream": np.zeros(m, bool),
    }
    return Pop(ac, ev)


def hard_negatives(rng: np.random.Generator, w: World, scale: float) -> list[Pop]:
    def k(x: int) -> int:
        return max(3, round(x * scale))

    return [
        mooc(rng, w, k(400)),
        bench_nightly(rng, w, 5),
        saas_relay(rng, w, 7000.0 * min(1.0, scale)),
        agent_platform(rng, w, k(8)),
        consultancy(rng, w, 30),
        mobile_cgnat(rng, w, k(500)),
        privacy_relay(rng, w, k(300)),
        rubric_vendor(rng, w, int(5500 * min(1.0, scale))),
        oss_agent_users(rng, w, k(220)),
    ]
