"""Ordinary benign populations: chat users, developers, heavy power users, SaaS backends.

Why realistic: prompts are real first turns people sent to chat models (ShareGPT, Arena-Hard,
MT-Bench, awesome-chatgpt-prompts); token sizes are real (Azure chat and code traces, Mooncake's
long-context chat, ServeGen DeepSeek-R1 reasoning outputs); addresses are real home-ISP ranges;
SaaS backends follow a real ServeGen client's 24-hour arrival process. Some heavy users ask
for step-by-step answers and move to the new reasoning model after release, as heavy users do.
"""

from __future__ import annotations

import numpy as np
from _h4_clock import est_tokens, human_times, service_times
from _h4_core import CHAT_MODEL, DAYS, MINI_MODEL, WINDOW_START, ident
from _h4_people import chat_prompt, client, home, home_ip, new_account, person_model, pick, tokens_for
from _h4_world import World, ip_in_nets

#: Accounts at scale 1.
N_CHAT, N_CODER, N_POWER, N_SAAS = 2400, 800, 120, 40
#: Share of each population logged through the ``minimal`` source (zero-retention contracts).
MINIMAL_SHARE = {"chat": 0.12, "coder": 0.10, "power": 0.15, "saas": 0.25}
#: Share of a power user's prompts that carry a hand-written "think step by step" request.
POWER_COT_SHARE = 0.12
_COT_ASKS = ("Let's think step by step.", "Please show your reasoning.", "Explain step by step.")


def _human(ev, w: World, rng, seed: int, persona: str, kind: str, n: int, cfg: dict) -> None:
    for i in range(n):
        asn, country, tz = home(rng, w)
        created = WINDOW_START - float(rng.uniform(-3, 720)) * 86_400
        free = rng.random() < cfg["free"]
        tier = "free" if free else ("edu" if rng.random() < 0.05 else "paid")
        aid = ident("org", seed, persona, i)
        pay = None if free else ident("pm", seed, persona, i)
        src = "minimal" if rng.random() < MINIMAL_SHARE[kind] else "full"
        a = new_account(ev, rng, aid, persona, None, created, tier, country, pay, client(rng, cfg["ua"]), src)
        ips = [home_ip(rng, w, asn)]
        if rng.random() < cfg["second_ip"]:
            ips.append(ip_in_nets(rng, w.aws_us_east) if kind != "chat" else home_ip(rng, w, asn))
        adopts = rng.random() < 0.5
        spd = float(rng.lognormal(np.log(cfg["sessions"]), 0.7))
        r1_row = w.r1_stats[int(rng.integers(len(w.r1_stats)))]
        temp = float(rng.choice([1.0, 0.7, 0.2]))
        sessions = human_times(
            rng, WINDOW_START, DAYS, tz, spd, cfg["reqs"], cfg["think"], active_from=created
        )
        for s_i, sess in enumerate(sessions):
            conv = ident("conv", seed, aid, s_i)
            ip = ips[int(rng.integers(len(ips)))]
            history = 0
            for ts in sess:
                prompt = cfg["prompt"](rng, w)
                if kind == "power" and rng.random() < POWER_COT_SHARE:
                    prompt = f"{prompt}\n\n{pick(rng, _COT_ASKS)}"
                model = person_model(rng, ts, cfg["reason"], adopts)
                pt = est_tokens(prompt)
                inp, out, reas = tokens_for(rng, w, model, pt, history, cfg["trace"](w), r1_row)
                ev.add(
                    a,
                    ts,
                    model,
                    inp,
                    out,
                    reasoning=reas,
                    ip=ip,
                    prompt=prompt,
                    conv=conv,
                    temperature=temp,
                    stream=True,
                )
                history = min(history + pt + out, 60_000)


def _code_prompt(rng, w: World) -> str:
    return pick(rng, w.code_prompts) if rng.random() < 0.85 else pick(rng, w.arena_prompts)


def _power_prompt(rng, w: World) -> str:
    r = rng.random()
    if r < 0.45:
        return chat_prompt(rng, w)
    if r < 0.8:
        return _code_prompt(rng, w)
    return pick(rng, w.wizard)


def generate(ev, w: World, rng_for, seed: int, scale: float) -> None:
    _human(
        ev,
        w,
        rng_for("chat"),
        seed,
        "benign_chat_user",
        "chat",
        max(1, round(N_CHAT * scale)),
        {
            "free": 0.55,
            "ua": ("chrome", "chrome_mac", "safari", "firefox", "safari_ios", "openai_py"),
            "second_ip": 0.3,
            "sessions": 0.5,
            "reqs": 4,
            "think": 60.0,
            "reason": 0.1,
            "prompt": chat_prompt,
            "trace": lambda w: w.azure_conv,
        },
    )
    _human(
        ev,
        w,
        rng_for("coder"),
        seed,
        "benign_developer",
        "coder",
        max(1, round(N_CODER * scale)),
        {
            "free": 0.2,
            "ua": ("openai_py", "node", "httpx", "chrome", "go"),
            "second_ip": 0.35,
            "sessions": 1.2,
            "reqs": 8,
            "think": 40.0,
            "reason": 0.25,
            "prompt": _code_prompt,
            "trace": lambda w: w.azure_code,
        },
    )
    _human(
        ev,
        w,
        rng_for("power"),
        seed,
        "benign_power_user",
        "power",
        max(1, round(N_POWER * scale)),
        {
            "free": 0.0,
            "ua": ("openai_py", "chrome", "chrome_mac", "node"),
            "second_ip": 0.6,
            "sessions": 4.0,
            "reqs": 25,
            "think": 20.0,
            "reason": 0.5,
            "prompt": _power_prompt,
            "trace": lambda w: w.mooncake,
        },
    )
    _saas(ev, w, rng_for("saas"), seed, max(1, round(N_SAAS * scale)))


def _saas(ev, w: World, rng, seed: int, n: int) -> None:
    """Product backends: one system prompt each, end users' real prompts, a ServeGen day curve."""
    clouds = (w.aws_us_east, w.gcp_nets, w.azure_nets)
    for i in range(n):
        aid = ident("org", seed, "saas", i)
        created = WINDOW_START - float(rng.uniform(60, 900)) * 86_400
        src = "minimal" if rng.random() < MINIMAL_SHARE["saas"] else "full"
        a = new_account(
            ev,
            rng,
            aid,
            "benign_saas_backend",
            None,
            created,
            "paid",
            "US",
            ident("pm", seed, "saas", i),
            client(rng, ("openai_py", "node", "go")),
            src,
        )
        nets = clouds[i % 3]
        ips = [ip_in_nets(rng, nets) for _ in range(int(rng.integers(1, 4)))]
        system = f"You are the assistant inside {ident('app', seed, i)[4:12]}. Be concise and friendly."
        curve = w.servegen_curves[int(rng.integers(len(w.servegen_curves)))]
        per_day = float(rng.lognormal(np.log(180), 0.6))
        times = service_times(rng, curve, WINDOW_START, DAYS, per_day, float(rng.uniform(0, 86_400)))
        users = [ident("eu", seed, aid, k) for k in range(int(rng.integers(200, 3000)))]
        model = MINI_MODEL if rng.random() < 0.5 else CHAT_MODEL
        for ts in times:
            prompt = chat_prompt(rng, w)
            pt = est_tokens(prompt) + est_tokens(system)
            inp, out, _ = tokens_for(rng, w, model, pt, 0, w.azure_conv, w.r1_stats[0])
            ev.add(
                a,
                float(ts),
                model,
                inp,
                out,
                ip=pick(rng, ips),
                prompt=prompt,
                system=system,
                end_user=pick(rng, users),
                temperature=0.7,
            )
