"""Benign organisations: heavy API customers (real ServeGen clients), a reasoning app, a tutoring
app, nightly batch jobs, eval harnesses, agent frameworks, a startup on one card, a red-team lab.
"""

from __future__ import annotations

import numpy as np
from _ho_clients import SDKS, UA, pick_clients
from _ho_clock import DIURNAL_HOME, DIURNAL_WORK, WEEKDAY_WORK, group_cumsum, servegen_arrivals, sessions
from _ho_common import Ctx, chat_tokens, models, reasoning_tokens, think_output
from _ho_frame import (
    RELEASE_S,
    Block,
    accounts,
    concat,
    est_tokens,
    hex_ids,
    lognormal_p50_p90,
    merge_events,
    opaque,
)
from _ho_people import DEV_MODELS, person_block
from _ho_text import (
    APP_SYSTEMS,
    BATCH_TEMPLATES,
    EVAL_SUFFIX,
    REDTEAM,
    STARTUP_SYSTEM,
    TUTOR_SYSTEM,
    fill,
    pick,
)

CLOUDS = ("aws", "gcp", "azure")


def _egress(ctx: Ctx, n: int, per: int, clouds: tuple[str, ...] = CLOUDS) -> np.ndarray:
    """(n, per) fixed cloud egress addresses per account (NAT gateways / elastic IPs)."""
    cloud = np.asarray(clouds, dtype=object)[ctx.rng.integers(0, len(clouds), n)]
    out = np.empty((n, per), dtype=object)
    for c in np.unique(cloud):
        m = cloud == c
        out[m] = ctx.net.sample(ctx.rng, c, int(m.sum()) * per).reshape(-1, per)
    return out


def _servegen_tokens(ctx: Ctx, stats: dict[str, np.ndarray], client: np.ndarray, a: np.ndarray):
    """(input, output, reason_ratio|None) per event from the client's real token percentiles."""
    rng = ctx.rng
    cid = stats["client_id"]
    rows = np.array(
        [
            rng.choice(np.flatnonzero(cid == c)) if (cid == c).any() else rng.integers(0, cid.size)
            for c in client
        ]
    )
    r = rows[a]
    inp = lognormal_p50_p90(rng, stats["input_p50"][r], stats["input_p90"][r])
    out = lognormal_p50_p90(rng, stats["output_p50"][r], stats["output_p90"][r])
    ratio = stats["reason_ratio_mean"][r] if "reason_ratio_mean" in stats else None
    return inp, out, ratio


def api_customers(ctx: Ctx, *, reasoning: bool) -> Block:
    """Real per-client arrival processes (ServeGen) for heavy API customers of an app."""
    rng = ctx.rng
    rates = ctx.corpus.servegen_r1 if reasoning else ctx.corpus.servegen_large
    stats = ctx.corpus.servegen_r1_tokens if reasoning else ctx.corpus.servegen_large_tokens
    n = ctx.n(12 if reasoning else 30)
    persona = "benign_reasoning_app" if reasoning else "benign_api_heavy"
    client = rng.choice(np.unique(rates["client_id"]), n, replace=False)
    cc = rng.choice(["US", "GB", "DE", "JP", "SG"], n).astype(object)
    acc = accounts(
        n,
        persona,
        tier=rng.choice(["enterprise", "paid"], n, p=[0.6, 0.4]),
        country=cc,
        created_s=-rng.uniform(60, 1000, n) * 86400,
        payment=hex_ids(rng, "pm_", n, 14),
    )
    target = np.minimum(rng.lognormal(np.log(250 if reasoning else 300), 0.8, n), 2500)
    s = servegen_arrivals(rng, rates, client, target, ctx.days, shift_s=rng.uniform(-12, 12, n) * 3600)
    a, t = s["acct"], s["t"]
    m = t.size
    inp, out, ratio = _servegen_tokens(ctx, stats, client, a)
    system = np.asarray(APP_SYSTEMS, dtype=object)[rng.integers(0, len(APP_SYSTEMS), n)]
    prompt = pick(rng, ctx.corpus.chat, m)
    if reasoning:
        mathy = rng.random(m) < 0.3
        prompt[mathy] = pick(rng, ctx.corpus.competition_math, int(mathy.sum()))
        model = np.where(t > RELEASE_S + 86400 * rng.uniform(1, 3, m), "atlas-4-think", "atlas-3-think")
        reason = (out * ratio).astype(np.int64)
    else:
        model = models(rng, t, {"atlas-3": 0.6, "atlas-3-mini": 0.35, "atlas-3-think": 0.05})
        out = think_output(rng, model, out)
        reason = reasoning_tokens(rng, model, out)
    users = rng.random(n) < 0.6
    pool = rng.integers(50, 5000, n)  # each app's own user base
    end_user = opaque("u_", a.astype(np.int64) * 1_000_003 + (rng.random(m) ** 2 * pool[a]).astype(np.int64))
    ua, ja4 = pick_clients(rng, SDKS, n)
    eg = _egress(ctx, n, 3)
    ev = {
        "acct": a,
        "t": t,
        "model": model,
        "prompt": prompt,
        "system_prompt": system[a],
        "input_tokens": np.maximum(inp, est_tokens(prompt)),
        "output_tokens": out,
        "reasoning_output_tokens": reason,
        "client_ip": eg[a, rng.integers(0, 3, m)],
        "user_agent": ua[a],
        "tls_fingerprint": ja4[a],
        "api_key_id": hex_ids(rng, "key_", n, 10)[a],
        "end_user_id": np.where(users[a], end_user, None),
        "stream": rng.random(n)[a] < 0.5,
        "temperature": rng.choice([0.0, 0.3, 0.7], n)[a],
        "status": np.where(rng.random(m) < 0.01, "rate_limited", "ok"),
    }
    return Block(acc, ev)


def tutoring_app(ctx: Ctx) -> Block:
    """An ed-tech app: one account, thousands of students, every request 'explain step by step'."""
    rng = ctx.rng
    n = 2
    acc = accounts(
        n,
        "benign_tutoring_app",
        tier="enterprise",
        country="US",
        created_s=-np.array([400.0, 700.0]) * 86400,
        payment=hex_ids(rng, "pm_", n, 14),
    )
    students = ctx.n(3000, 100)
    s = sessions(
        rng,
        rng.lognormal(np.log(0.25), 0.7, students),
        rng.choice([-8.0, -5.0], students),
        ctx.days,
        reqs_mean=5,
        gap_median_s=90,
        diurnal=DIURNAL_HOME,
    )
    owner = rng.integers(0, n, students)
    a, t, m = owner[s["acct"]], s["t"], s["t"].size
    prompt = np.where(
        rng.random(m) < 0.8, pick(rng, ctx.corpus.gsm8k_train, m), pick(rng, ctx.corpus.competition_math, m)
    )
    model = np.where(rng.random(m) < 0.6, "atlas-3-think", "atlas-3-mini")
    inp, out = chat_tokens(ctx, prompt, np.full(m, TUTOR_SYSTEM, object), s["turn"], ctx.corpus.azure_conv)
    out = think_output(rng, model, out)
    eg = _egress(ctx, n, 4, ("aws",))
    ev = {
        "acct": a,
        "t": t,
        "model": model,
        "prompt": prompt,
        "system_prompt": TUTOR_SYSTEM,
        "input_tokens": inp,
        "output_tokens": out,
        "reasoning_output_tokens": reasoning_tokens(rng, model, out),
        "client_ip": eg[a, rng.integers(0, 4, m)],
        "user_agent": UA["node"][0],
        "tls_fingerprint": "t13d1713h2_5b57614c22b0_f0b1cf4f3c3e",
        "end_user_id": hex_ids(rng, "stu_", students, 10)[s["acct"]],
        "conversation_id": hex_ids(rng, "conv_", int(s["sess"].max()) + 1)[s["sess"]],
        "stream": True,
        "temperature": 0.3,
    }
    return Block(acc, ev)


def enterprise_batch(ctx: Ctx) -> Block:
    """Nightly cron jobs: one template, thousands of rows, a near-constant request rate."""
    rng = ctx.rng
    n = ctx.n(4, 2)
    acc = accounts(
        n,
        "benign_enterprise_batch",
        tier="enterprise",
        country=rng.choice(["US", "DE"], n),
        created_s=-rng.uniform(200, 900, n) * 86400,
        payment=hex_ids(rng, "pm_", n, 14),
    )
    per_night = rng.integers(1000, 2200, (n, ctx.days))
    interval = rng.uniform(0.8, 2.5, n)
    start_h = rng.uniform(0.5, 3.0, n)
    a = np.repeat(np.repeat(np.arange(n), ctx.days), per_night.ravel())
    day = np.repeat(np.tile(np.arange(ctx.days), n), per_night.ravel())
    job = np.repeat(np.arange(n * ctx.days), per_night.ravel())
    gaps = interval[a] + rng.normal(0, 0.05, a.size)
    t = day * 86400.0 + start_h[a] * 3600 + group_cumsum(gaps, job)
    tpl = rng.permutation(len(BATCH_TEMPLATES))[np.arange(n) % len(BATCH_TEMPLATES)]
    body = np.array([x[:900] for x in pick(rng, ctx.corpus.chat, a.size)], dtype=object)
    prompt = fill(BATCH_TEMPLATES, tpl[a], x=body)
    m = a.size
    eg = _egress(ctx, n, 2, ("aws",))
    ev = {
        "acct": a,
        "t": t,
        "model": np.where(rng.random(n) < 0.5, "atlas-3-mini", "atlas-3")[a],
        "prompt": prompt,
        "input_tokens": est_tokens(prompt),
        "output_tokens": rng.integers(5, 120, m),
        "reasoning_output_tokens": 0,
        "client_ip": eg[a, rng.integers(0, 2, m)],
        "user_agent": UA["python"][0],
        "tls_fingerprint": "t13d1812h1_85036bcba153_375ca2c5e164",
        "api_key_id": hex_ids(rng, "key_", n, 10)[a],
        "temperature": 0.0,
        "stream": False,
    }
    return Block(acc, ev)


def eval_harness(ctx: Ctx) -> Block:
    """A lab's eval harness: GSM8K + MATH-500, 'Let's think step by step', temperature 0, on every
    model including the new one within hours of its release."""
    rng = ctx.rng
    n = 3
    card = hex_ids(rng, "pm_", 1, 14)[0]
    acc = accounts(
        n,
        "benign_eval_harness",
        tier="research",
        country="US",
        created_s=-rng.uniform(100, 500, n) * 86400,
        payment=np.full(n, card, object),
    )
    gsm = ctx.corpus.gsm8k_test
    math500 = ctx.corpus.competition_math[:500]
    suite = np.concatenate([np.char.add("Q: ", gsm.astype(str)).astype(object) + EVAL_SUFFIX, math500])
    runs = [
        (0, 1.4, "atlas-3"),
        (1, 2.6, "atlas-3-think"),
        (2, 3.5, "atlas-2"),
        (0, 4.2, "atlas-3-mini"),
        (1, RELEASE_S / 86400 + rng.uniform(0.08, 0.2), "atlas-4-think"),
        (2, 8.3, "atlas-4-think"),
        (0, 9.1, "atlas-3-think"),
    ]
    parts = []
    for acct, day, model in runs:
        k = suite.size
        rate = rng.uniform(2.0, 6.0)  # requests/s with the harness's concurrency
        t = day * 86400 + np.cumsum(rng.exponential(1 / rate, k))
        parts.append(
            {
                "acct": np.full(k, acct),
                "t": t,
                "model": np.full(k, model, object),
                "prompt": suite,
                "logprobs_requested": np.full(k, model == "atlas-3", bool),
            }
        )
    ev = merge_events(*parts)
    m = ev["t"].size
    out = think_output(rng, ev["model"], rng.integers(80, 450, m))
    eg = _egress(ctx, 1, 2, ("gcp",))[0]
    ev.update(
        {
            "input_tokens": est_tokens(ev["prompt"]),
            "output_tokens": out,
            "reasoning_output_tokens": reasoning_tokens(rng, ev["model"], out),
            "client_ip": eg[rng.integers(0, 2, m)],
            "user_agent": "lm-eval/0.4.7 python-httpx/0.27.2",
            "tls_fingerprint": "t13d1812h1_85036bcba153_375ca2c5e164",
            "temperature": 0.0,
            "stream": False,
        }
    )
    return Block(acc, ev)


def agent_frameworks(ctx: Ctx) -> Block:
    """Agent products: tasks run as rapid tool-call loops (seconds apart) under one system prompt."""
    rng = ctx.rng
    n = ctx.n(20, 2)
    acc = accounts(
        n,
        "benign_agent_framework",
        tier=rng.choice(["paid", "enterprise", "startup"], n),
        country=rng.choice(["US", "GB", "DE", "FR"], n),
        created_s=-rng.uniform(30, 600, n) * 86400,
        payment=hex_ids(rng, "pm_", n, 14),
    )
    s = sessions(
        rng,
        rng.lognormal(np.log(15), 0.7, n),
        np.zeros(n),
        ctx.days,
        reqs_mean=8,
        gap_median_s=2.5,
        gap_sigma=0.5,
        diurnal=DIURNAL_WORK,
        weekday=WEEKDAY_WORK,
    )
    a, t, turn, m = s["acct"], s["t"], s["turn"], s["t"].size
    spec = pick(rng, ctx.corpus.tool_specs, n)
    system = np.char.add(
        "You are an agent that completes the user's task by calling tools. Tools:\n", spec.astype(str)
    ).astype(object)
    task = pick(rng, ctx.corpus.tool_tasks, int(s["sess"].max()) + 1)[s["sess"]]
    result = np.char.mod(
        '{"tool_call_id": "call_%08x", "status": "ok", "result": "[truncated]"}', rng.integers(0, 2**31, m)
    ).astype(object)
    prompt = np.where(turn == 0, task, result)
    inp = est_tokens(prompt) + est_tokens(system)[a] + turn * rng.integers(150, 600, m)
    model = models(rng, t, {"atlas-3": 0.5, "atlas-3-mini": 0.5}, adopt_max=0.3)
    eg = _egress(ctx, n, 2)
    ua, ja4 = pick_clients(rng, ("python", "node"), n)
    ev = {
        "acct": a,
        "t": t,
        "model": model,
        "prompt": prompt,
        "system_prompt": system[a],
        "input_tokens": inp,
        "output_tokens": rng.integers(20, 400, m),
        "reasoning_output_tokens": 0,
        "client_ip": eg[a, rng.integers(0, 2, m)],
        "user_agent": ua[a],
        "tls_fingerprint": ja4[a],
        "conversation_id": hex_ids(rng, "run_", int(s["sess"].max()) + 1)[s["sess"]],
        "tool_count": rng.integers(2, 16, n)[a],
        "temperature": 0.0,
        "stream": False,
        "end_user_id": hex_ids(rng, "eu_", 800, 8)[rng.integers(0, 800, int(s["sess"].max()) + 1)][s["sess"]],
    }
    return Block(acc, ev)


def startup(ctx: Ctx) -> Block:
    """A startup: 20 accounts on ONE corporate card, ONE cloud egress, created the same day."""
    rng = ctx.rng
    n = 20
    card = hex_ids(rng, "pm_", 1, 14)[0]
    acc = accounts(
        n,
        "benign_startup",
        tier="startup",
        country="US",
        created_s=-45 * 86400 + rng.uniform(0, 3600 * 6, n),
        payment=np.full(n, card, object),
    )
    egress = ctx.net.sample(rng, "gcp", 1)[0]
    service = np.arange(n) >= 14  # six service accounts run the product's bookkeeping copilot

    def prompts(c: Ctx, m: int) -> np.ndarray:
        p = pick(c.rng, c.corpus.chat, m)
        code = c.rng.random(m) < 0.5
        p[code] = pick(c.rng, c.corpus.chat_code, int(code.sum()))
        return p

    ua, ja4 = pick_clients(rng, ("python",), n)
    eng = person_block(
        ctx,
        acc,
        rate_per_day=rng.lognormal(np.log(3), 0.5, n) * ~service,
        reqs_mean=10,
        gap_median_s=30,
        work=True,
        model_w=DEV_MODELS,
        adopt=0.5,
        prompts=prompts,
        ip_fn=lambda a, s: np.full(a.size, egress, object),
        client_arrays=(ua, ja4),
    )
    rates = ctx.corpus.servegen_large
    sv = np.flatnonzero(service)
    s = servegen_arrivals(
        rng, rates, rng.choice(np.unique(rates["client_id"]), sv.size), np.full(sv.size, 200.0), ctx.days
    )
    a, t, m = sv[s["acct"]], s["t"], s["t"].size
    prompt = concat(
        "Transaction: ",
        rng.choice(["ACH DEBIT", "CARD", "WIRE IN", "ACH CREDIT"], m).astype(object),
        " ",
        np.char.mod("%06d", rng.integers(0, 999999, m)).astype(object),
        " AMOUNT ",
        np.char.mod("%.2f", rng.lognormal(4, 1.2, m)).astype(object),
        " USD",
    )
    svc = {
        "acct": a,
        "t": t,
        "model": "atlas-3-mini",
        "prompt": prompt,
        "system_prompt": STARTUP_SYSTEM,
        "input_tokens": est_tokens(prompt) + 420,
        "output_tokens": rng.integers(30, 140, m),
        "reasoning_output_tokens": 0,
        "client_ip": egress,
        "user_agent": ua[a],
        "tls_fingerprint": ja4[a],
        "temperature": 0.0,
        "stream": False,
    }
    return Block(acc, merge_events(eng.ev, svc))


def redteam_lab(ctx: Ctx) -> Block:
    """A university lab doing authorised red-teaming: scripted sweeps of jailbreak templates."""
    rng = ctx.rng
    n = 8
    acc = accounts(
        n,
        "benign_redteam_lab",
        tier="research",
        country="US",
        created_s=-60 * 86400 + rng.uniform(0, 86400, n),
        payment=None,
    )
    lab_ip = ctx.net.sample(rng, "uni_berkeley", 3)

    def prompts(c: Ctx, m: int) -> np.ndarray:
        q = np.where(c.rng.random(m) < 0.5, pick(c.rng, c.corpus.chat, m), pick(c.rng, c.corpus.simpleqa, m))
        return fill(REDTEAM, c.rng.integers(0, len(REDTEAM), m), k=c.rng.integers(1, 5000, m), q=q)

    b = person_block(
        ctx,
        acc,
        rate_per_day=np.full(n, 2.0),
        reqs_mean=40,
        gap_median_s=4,
        gap_sigma=0.4,
        work=True,
        clients=("python",),
        model_w={"atlas-3": 0.5, "atlas-3-think": 0.3, "atlas-2": 0.2},
        adopt=0.4,
        prompts=prompts,
        ip_fn=lambda a, s: lab_ip[a % 3],
    )
    b.ev["status"] = np.where(rng.random(b.ev["t"].size) < 0.35, "refused", "ok")
    b.ev["conversation_id"] = None
    return b
