"""Hard negatives: benign customers that share something with a distillation fleet.

- ``hardneg_eval_harness``: eight unrelated evaluation organisations (own card, own cloud or
  campus network, signups years or months apart) replaying public benchmark items (GSM8K test,
  MATH-500 and competition maths, BBH, HumanEval, MBPP+) with their harness's chain-of-thought
  format, from machine clocks: a nightly cron regression on a fixed item subset and a full run
  of every benchmark on the new model within hours of its release, at fixed concurrency,
  temperature 0 (pass@k sampling at 0.8 for code). Several organisations run the same
  benchmark, and two use the same harness, so their prompts are byte-identical.
- ``hardneg_agent_framework``: unrelated customers of two agent frameworks whose default system
  frames (LangChain ReAct, AutoGen; AutoGen's says "Solve the task step by step") ride on every
  call; real BFCL tool-use requests, tools on every call, agent loops of several calls; a quarter
  run as 24/7 agents on a cloud box.
- ``hardneg_university_nat``: one course's students, opened in the semester's first weeks, all
  behind one campus NAT, pasting the same assignment questions at lab times and before the
  Sunday deadline.
- ``hardneg_private_relay``: iCloud Private Relay users: hundreds of unrelated people behind a
  few dozen Apple egress addresses (IPv4 and IPv6), exits changing between sessions.
- ``hardneg_enterprise_batch``: one enterprise, 40 team accounts on one corporate card opened the
  same day, several keys each, nightly batch jobs (summaries, step-by-step ticket triage,
  extraction) through three NAT addresses in AWS us-east-1.
"""

from __future__ import annotations

import numpy as np
from _h4_clock import HUMAN_HOURS, est_tokens, human_times, machine_times, reasoning_tokens, service_times
from _h4_core import (
    CHAT_MODEL,
    DAYS,
    MINI_MODEL,
    NEW_REASONING_MODEL,
    REASONING_MODEL,
    RELEASE_TS,
    WINDOW_START,
    ident,
)
from _h4_people import chat_prompt, client, home, home_ip, new_account, person_model, pick, tokens_for
from _h4_text import AUTOGEN_FRAME, COURSE_QUESTIONS, ENTERPRISE_JOBS, HARNESS_FORMATS, REACT_FRAME
from _h4_world import World, ip_in_nets, ip_in_ranges

#: (name, network, country, utc offset, accounts, cron hour local, concurrency, ua,
#:  [(benchmark, harness format, nightly subset size)]).
EVAL_ORGS: tuple[tuple, ...] = (
    (
        "evalco",
        "aws",
        "US",
        -5,
        3,
        2,
        16,
        "openai_py",
        [
            ("gsm8k", "lmeval_gsm8k_cot", 250),
            ("bbh", "lmeval_bbh_cot", 270),
            ("humaneval", "humaneval_plain", 164),
        ],
    ),
    (
        "leaderboard",
        "gcp",
        "US",
        -8,
        2,
        1,
        32,
        "httpx",
        [("math", "simple_evals_math", 200), ("gsm8k", "inspect_gsm8k", 200)],
    ),
    (
        "unilab",
        "campus",
        "CA",
        -5,
        2,
        23,
        4,
        "openai_py_old",
        [("gsm8k", "lmeval_gsm8k_cot", 150), ("bbh", "lmeval_bbh_cot", 150)],
    ),
    (
        "safetystartup",
        "azure",
        "GB",
        1,
        2,
        3,
        8,
        "openai_py",
        [
            ("humaneval", "humaneval_reason", 164),
            ("mbpp", "humaneval_plain", 150),
            ("gsm8k", "show_reasoning", 150),
        ],
    ),
    (
        "benchshop",
        "hetzner",
        "DE",
        2,
        2,
        4,
        12,
        "aiohttp",
        [("math", "math500_suffix", 200), ("bbh", "lmeval_bbh_cot", 200)],
    ),
    (
        "consultancy",
        "digitalocean",
        "NL",
        2,
        1,
        6,
        6,
        "httpx",
        [("gsm8k", "inspect_gsm8k", 120), ("humaneval", "humaneval_plain", 80)],
    ),
    (
        "modelselect",
        "oracle",
        "US",
        -6,
        1,
        22,
        8,
        "node",
        [("gsm8k", "simple_evals_math", 100), ("math", "simple_evals_math", 100)],
    ),
    (
        "openboard",
        "ovh",
        "FR",
        2,
        2,
        0,
        24,
        "openai_py",
        [
            ("gsm8k", "lmeval_gsm8k_cot", 300),
            ("math", "math500_suffix", 150),
            ("humaneval", "humaneval_reason", 164),
        ],
    ),
)
#: Items a full release run covers per benchmark (the whole public split, capped).
FULL_RUN_CAP = 1319
#: Hours after release at which each org starts its full run (sampled in this range).
RELEASE_RUN_DELAY_H = (1.0, 20.0)
#: HumanEval/MBPP samples per item (pass@k) and their temperature.
CODE_SAMPLES, CODE_TEMPERATURE = 3, 0.8
N_REACT, N_AUTOGEN, N_UNI, N_RELAY, N_ENT = 200, 120, 250, 300, 40
#: Shared Apple egress addresses the relay users come out of.
RELAY_EGRESS = 60


def _items(w: World, bench: str) -> list[str]:
    return {
        "gsm8k": w.gsm8k_test,
        "math": w.math_problems,
        "bbh": [x for _, x in w.bbh],
        "humaneval": w.humaneval,
        "mbpp": w.mbpp,
    }[bench]


def _net(w: World, name: str):
    return {
        "aws": w.aws_us_east,
        "gcp": w.gcp_nets,
        "azure": w.azure_nets,
        "oracle": w.oracle_nets,
        "hetzner": w.hosting_nets.get("hetzner"),
        "digitalocean": w.hosting_nets.get("digitalocean"),
        "ovh": w.hosting_nets.get("ovh") or w.hosting_nets.get("vultr"),
    }.get(name)


def eval_harnesses(ev, w: World, rng, seed: int, scale: float) -> None:
    r1_row = w.r1_stats[int(rng.integers(len(w.r1_stats)))]
    for org, net, country, tz, n_acc, cron_h, conc, ua, benches in EVAL_ORGS:
        created0 = WINDOW_START - float(rng.uniform(30, 1400)) * 86_400
        pay = ident("pm", seed, "eval", org)
        if net == "campus":
            ips = [ip_in_ranges(rng, w.campus_ranges["lab"]) for _ in range(2)]
        else:
            ips = [ip_in_nets(rng, _net(w, net)) for _ in range(int(rng.integers(1, 4)))]
        accts = []
        for k in range(n_acc):
            created = created0 + float(rng.uniform(0, 200)) * 86_400 * (k > 0)
            tier = "research" if net == "campus" else ("enterprise" if n_acc > 2 else "paid")
            accts.append(
                new_account(
                    ev,
                    rng,
                    ident("org", seed, "eval", org, k),
                    "hardneg_eval_harness",
                    None,
                    min(created, WINDOW_START - 86_400),
                    tier,
                    country,
                    pay,
                    client(rng, (ua,)),
                )
            )
        sub = max(1, round(1 / max(scale, 1e-9))) if scale < 1 else 1
        for bi, (bench, fmt, nightly) in enumerate(benches):
            a = accts[bi % n_acc]
            items = _items(w, bench)
            fixed = [items[j] for j in rng.permutation(len(items))[: max(2, int(nightly * min(scale, 1.0)))]]
            code = bench in ("humaneval", "mbpp")
            runs = []
            for d in range(DAYS):
                start = WINDOW_START + d * 86_400 + (cron_h - tz) * 3600 + 60 * bi
                for model in (CHAT_MODEL, REASONING_MODEL) + (
                    (NEW_REASONING_MODEL,) if start > RELEASE_TS else ()
                ):
                    runs.append((start, model, fixed))
            full = items[: min(FULL_RUN_CAP, len(items))][::sub]
            t_rel = RELEASE_TS + float(rng.uniform(*RELEASE_RUN_DELAY_H)) * 3600
            runs.append((t_rel, NEW_REASONING_MODEL, full))
            for start, model, batch in runs:
                reps = CODE_SAMPLES if code else 1
                prompts = [HARNESS_FORMATS[fmt].format(q=q) for q in batch for _ in range(reps)]
                if model == CHAT_MODEL:
                    out = np.clip(rng.lognormal(np.log(260), 0.5, len(prompts)), 20, 4000).astype(np.int64)
                    reas = np.zeros(len(prompts), dtype=np.int64)
                else:
                    out, reas = reasoning_tokens(rng, r1_row, len(prompts))
                times = machine_times(rng, start, out, conc)
                temp = CODE_TEMPERATURE if code else 0.0
                for ts, p, o, r in zip(times, prompts, out, reas, strict=True):
                    ev.add(
                        a,
                        float(ts),
                        model,
                        est_tokens(p),
                        int(o),
                        reasoning=int(r),
                        ip=pick(rng, ips),
                        prompt=p,
                        temperature=temp,
                    )


def agent_frameworks(ev, w: World, rng, seed: int, scale: float) -> None:
    tools_pool = [t for t in w.tool_tasks if t[1]]
    for fw, n in (("react", N_REACT), ("autogen", N_AUTOGEN)):
        for i in range(max(1, round(n * scale))):
            aid = ident("org", seed, fw, i)
            asn, country, tz = home(rng, w)
            created = WINDOW_START - float(rng.uniform(1, 500)) * 86_400
            free = rng.random() < 0.3
            a = new_account(
                ev,
                rng,
                aid,
                "hardneg_agent_framework",
                None,
                created,
                "free" if free else "paid",
                country,
                None if free else ident("pm", seed, fw, i),
                client(rng, ("openai_py", "node", "httpx")),
            )
            cron = rng.random() < 0.25
            ip = ip_in_nets(rng, w.aws_us_east if i % 2 else w.gcp_nets) if cron else home_ip(rng, w, asn)
            if cron:
                curve = w.servegen_curves[int(rng.integers(len(w.servegen_curves)))]
                starts = list(
                    service_times(
                        rng,
                        curve,
                        WINDOW_START,
                        DAYS,
                        float(rng.lognormal(np.log(40), 0.6)),
                        float(rng.uniform(0, 86_400)),
                    )
                )
            else:
                sess = human_times(
                    rng, WINDOW_START, DAYS, tz, float(rng.lognormal(np.log(0.8), 0.6)), 3, 90.0
                )
                starts = [t for s in sess for t in s]
            model = MINI_MODEL if rng.random() < 0.4 else CHAT_MODEL
            for t0 in starts:
                task, fnames = pick(rng, tools_pool)
                if fw == "react":
                    system = REACT_FRAME.format(
                        tools="\n".join(f"{f}: call {f}" for f in fnames), tool_names=", ".join(fnames)
                    )
                else:
                    system = AUTOGEN_FRAME
                steps = int(rng.integers(2, 7))
                ts, hist = float(t0), 0
                conv = ident("conv", seed, aid, t0)
                for _ in range(steps):
                    out = int(np.clip(rng.lognormal(np.log(120), 0.6), 10, 2000))
                    inp = est_tokens(system) + est_tokens(task) + hist
                    ev.add(
                        a,
                        ts,
                        model,
                        inp,
                        out,
                        ip=ip,
                        prompt=task,
                        system=system,
                        conv=conv,
                        tools=max(1, len(fnames)),
                        temperature=0.0,
                    )
                    hist += out + int(rng.integers(50, 800))
                    ts += 0.5 + out / 60 + float(rng.lognormal(np.log(1.5), 0.8))


def university(ev, w: World, rng, seed: int, scale: float) -> None:
    nat = [ip_in_ranges(rng, w.campus_ranges["course"]) for _ in range(4)]
    term_start = WINDOW_START - 38 * 86_400
    r1_row = w.r1_stats[0]
    # Lab slots Tue/Thu 14-16 and the Sunday-night deadline, in Seattle time (UTC-7).
    lab_hours = HUMAN_HOURS.copy()
    lab_hours[14:17] *= 3.0
    lab_hours /= lab_hours.sum()
    for i in range(max(1, round(N_UNI * scale))):
        aid = ident("org", seed, "uni", i)
        created = term_start + float(rng.uniform(0, 12)) * 86_400
        a = new_account(
            ev,
            rng,
            aid,
            "hardneg_university_nat",
            None,
            created,
            "edu",
            "US",
            None,
            client(rng, ("chrome", "chrome_mac", "safari", "firefox")),
        )
        home_asn = 7922 if 7922 in w.resid_ranges else next(iter(w.resid_ranges))
        home_addr = home_ip(rng, w, home_asn) if rng.random() < 0.3 else None
        sess = human_times(
            rng, WINDOW_START, DAYS, -7, float(rng.lognormal(np.log(0.6), 0.5)), 5, 50.0, lab_hours
        )
        # Deadline rush: Sunday 19:00-24:00 local.
        if rng.random() < 0.7:
            t = WINDOW_START + 6 * 86_400 + (19 + 7) * 3600 + float(rng.uniform(0, 4.5 * 3600))
            sess.append(list(t + np.cumsum(rng.lognormal(np.log(40), 0.8, int(rng.integers(3, 12))))))
        for s_i, s in enumerate(sess):
            ip = home_addr if home_addr and rng.random() < 0.4 else pick(rng, nat)
            conv = ident("conv", seed, aid, s_i)
            for ts in s:
                prompt = pick(rng, COURSE_QUESTIONS) if rng.random() < 0.55 else chat_prompt(rng, w)
                model = person_model(rng, ts, 0.1, False)
                inp, out, reas = tokens_for(rng, w, model, est_tokens(prompt), 0, w.azure_conv, r1_row)
                ev.add(
                    a,
                    float(ts),
                    model,
                    inp,
                    out,
                    reasoning=reas,
                    ip=ip,
                    prompt=prompt,
                    conv=conv,
                    stream=True,
                )


def private_relay(ev, w: World, rng, seed: int, scale: float) -> None:
    egress = [ip_in_nets(rng, w.relay_v6 if k % 3 == 0 else w.relay_v4) for k in range(RELAY_EGRESS)]
    for i in range(max(1, round(N_RELAY * scale))):
        aid = ident("org", seed, "relay", i)
        _, country, tz = home(rng, w)
        created = WINDOW_START - float(rng.uniform(1, 700)) * 86_400
        free = rng.random() < 0.6
        a = new_account(
            ev,
            rng,
            aid,
            "hardneg_private_relay",
            None,
            created,
            "free" if free else "paid",
            country,
            None if free else ident("pm", seed, "relay", i),
            client(rng, ("safari", "safari_ios")),
        )
        r1_row = w.r1_stats[int(rng.integers(len(w.r1_stats)))]
        sess = human_times(rng, WINDOW_START, DAYS, tz, float(rng.lognormal(np.log(0.5), 0.6)), 4, 60.0)
        for s_i, s in enumerate(sess):
            ip = pick(rng, egress)
            for ts in s:
                prompt = chat_prompt(rng, w)
                model = person_model(rng, ts, 0.1, True)
                inp, out, reas = tokens_for(rng, w, model, est_tokens(prompt), 0, w.azure_conv, r1_row)
                ev.add(
                    a,
                    float(ts),
                    model,
                    inp,
                    out,
                    reasoning=reas,
                    ip=ip,
                    prompt=prompt,
                    conv=ident("conv", seed, aid, s_i),
                    stream=True,
                )


def enterprise(ev, w: World, rng, seed: int, scale: float) -> None:
    nat = [ip_in_nets(rng, w.aws_us_east) for _ in range(3)]
    card = ident("pm", seed, "enterprise")
    created = WINDOW_START - 200 * 86_400 + float(rng.uniform(0, 3600))
    docs = [p[:2400] for p in w.chat_prompts if len(p) > 200]
    r1_row = w.r1_stats[int(rng.integers(len(w.r1_stats)))]
    for i in range(max(1, round(N_ENT * scale))):
        aid = ident("org", seed, "ent", i)
        keys = [ident("key", seed, aid, k) for k in range(int(rng.integers(3, 7)))]
        a = new_account(
            ev,
            rng,
            aid,
            "hardneg_enterprise_batch",
            None,
            created + i * 40.0,
            "enterprise",
            "US",
            card,
            client(rng, ("httpx", "openai_py")),
            keys=keys,
        )
        job, tmpl = ENTERPRISE_JOBS[i % len(ENTERPRISE_JOBS)]
        model = REASONING_MODEL if job == "triage" else CHAT_MODEL
        n_docs = max(2, int(rng.integers(150, 450) * min(scale * 4, 1.0)))
        for d in range(DAYS):
            if (d + 0) % 7 >= 5:  # weeknights only (the window starts on a Monday)
                continue
            start = WINDOW_START + d * 86_400 + (6 + float(rng.uniform(0, 3))) * 3600  # 01:00-04:00 US East
            prompts = [tmpl.format(q=pick(rng, docs)) for _ in range(n_docs)]
            if model == REASONING_MODEL:
                out, reas = reasoning_tokens(rng, r1_row, n_docs)
            else:
                out = np.clip(rng.lognormal(np.log(150), 0.4, n_docs), 20, 1500).astype(np.int64)
                reas = np.zeros(n_docs, dtype=np.int64)
            for j, (ts, p) in enumerate(zip(machine_times(rng, start, out, 4), prompts, strict=True)):
                ev.add(
                    a,
                    float(ts),
                    model,
                    est_tokens(p),
                    int(out[j]),
                    reasoning=int(reas[j]),
                    ip=pick(rng, nat),
                    prompt=p,
                    key=keys[j % len(keys)],
                    temperature=0.0,
                )


def generate(ev, w: World, rng_for, seed: int, scale: float) -> None:
    eval_harnesses(ev, w, rng_for("eval"), seed, scale)
    agent_frameworks(ev, w, rng_for("agents"), seed, scale)
    university(ev, w, rng_for("uni"), seed, scale)
    private_relay(ev, w, rng_for("relay"), seed, scale)
    enterprise(ev, w, rng_for("enterprise"), seed, scale)
