"""Hold-out 5's populations: benign users, hard negatives, the classic fleet, three adaptive attackers.

Each ``gen_*`` function takes the event buffer, the world and its own random stream. Sizes and
schedules are invented and named here; text, token sizes and addresses come from the world.
"""

from __future__ import annotations

import numpy as np
from _h5_world import (
    CHAT_MODELS,
    COUNTRIES,
    COUNTRY_WEIGHTS,
    DAY_S,
    DAYS,
    NEW_MODEL,
    REASON_MODEL,
    RELEASE_S,
    UNIVERSITY_ASNS,
    Account,
    Events,
    World,
)

R = np.random.Generator

# ---- population sizes (scale 1) -----------------------------------------------------------
N_CHAT, N_DEV, N_POWER = 2000, 500, 120
N_AGENT = 200
N_ADAPT_AGED, N_ADAPT_MATH, N_ADAPT_LOWSHARE = 80, 80, 80
CLASSIC_SLOTS, CLASSIC_LIFE_H, CLASSIC_CARDS = 20, 36.0, 5
#: Share of an account's traffic that is harvest, per adaptive variant (the rest is cover).
SHARE_AGED, SHARE_MATH, SHARE_LOWSHARE = 0.7, 0.6, 0.2
#: Share of benign accounts seen through the minimal (billing-grade) log source.
MINIMAL_SHARE = 0.15

UA_BROWSER = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/137.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 Version/18.0 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:139.0) Gecko/20100101 Firefox/139.0",
)
UA_SDK = ("OpenAI/Python 1.86.0", "anthropic-python/0.52.0", "OpenAI/NodeJS 5.3.0", "langchain-openai/0.3.21")
TLS = {
    "chrome": "t13d1516h2_8daaf6152771_02713d6af862",
    "safari": "t13d2014h2_a09f3c656075_14788d8d241b",
    "firefox": "t13d1715h2_5b57614c22b0_3d5424432f57",
    "python": "t13d1812h1_e8f1e7e78f70_3f2c9e4a8b1d",
    "node": "t13d1713h1_5c4c9e5c4e1e_1a9e3b7f2c44",
    "java": "t13d1011h1_61a7ad8aa9b6_9a3f1c2b7d10",
}

#: Consumer activity by local hour (invented curve: night trough, late-morning and evening peaks).
DIURNAL = np.array(
    [
        1,
        0.6,
        0.4,
        0.3,
        0.3,
        0.4,
        0.8,
        1.6,
        2.6,
        3.4,
        3.8,
        3.7,
        3.2,
        3.3,
        3.5,
        3.4,
        3.2,
        3.0,
        3.1,
        3.6,
        4.0,
        3.8,
        3.0,
        1.8,
    ]
)
DIURNAL = DIURNAL / DIURNAL.sum()

# Hand-written ways people ask for reasoning (power users) -- invented phrasings.
HUMAN_STEPWISE = (
    "Can you walk me through it step by step?",
    "Please explain your reasoning.",
    "Show your work please",
    "explain step by step, I want to understand it",
    "Let's think step by step.",
    "Break it down for me.",
)


def _country(rng: R) -> str:
    ks = list(COUNTRY_WEIGHTS)
    return ks[int(rng.choice(len(ks), p=np.array([COUNTRY_WEIGHTS[k] for k in ks])))]


def _pick(rng: R, xs: list[str] | tuple[str, ...]) -> str:
    return xs[int(rng.integers(len(xs)))]


def _browser(rng: R) -> tuple[str, str]:
    i = int(rng.integers(3))
    return UA_BROWSER[i], TLS[("chrome", "safari", "firefox")[i]]


def _sdk(rng: R) -> tuple[str, str]:
    ua = _pick(rng, UA_SDK)
    return ua, TLS["node" if "Node" in ua else "python"]


def session_starts(
    rng: R, per_day: float, utc_offset_h: int, weekend: float = 0.7, days: range | None = None
) -> list[float]:
    """Session start times (s after T0) on the consumer diurnal curve in local time."""
    out = []
    for d in days if days is not None else range(DAYS):
        lam = per_day * (weekend if d >= 5 else 1.0)
        for _ in range(int(rng.poisson(lam))):
            h = int(rng.choice(24, p=DIURNAL))
            out.append(d * DAY_S + (h - utc_offset_h) * 3600 + rng.uniform(0, 3600))
    return sorted(out)


def human_times(rng: R, start: float, n: int, think_median: float) -> list[float]:
    """Request times in one session: reading + typing time between requests (lognormal)."""
    t, out = start, []
    for _ in range(n):
        out.append(t)
        t += rng.lognormal(np.log(think_median), 0.7) + rng.uniform(3, 25)
    return out


def _acct(
    ev: Events,
    rng: R,
    persona: str,
    *,
    attack: bool = False,
    campaign: str | None = None,
    tier: str | None = None,
    country: str | None = None,
    created_s: float | None = None,
    payment: str | bool | None = True,
    ua: tuple[str, str] | None = None,
    minimal: bool | None = None,
) -> Account:
    c = country or _country(rng)
    t = tier or ("free" if rng.random() < 0.5 else "paid")
    pay = ev.new_id("pm", rng) if payment is True else (None if payment is False else payment)
    if t == "free" and payment is True:
        pay = None
    u = ua or _browser(rng)
    return ev.add_account(
        Account(
            account_id=ev.new_id("acct", rng),
            persona=persona,
            is_attack=attack,
            campaign=campaign,
            payment=pay,
            created_s=created_s if created_s is not None else -rng.uniform(3, 900) * DAY_S,
            tier=t,
            country=c,
            user_agent=u[0],
            tls=u[1],
            minimal=bool(rng.random() < MINIMAL_SHARE) if minimal is None else minimal,
        )
    )


def _chat_model(rng: R, t: float, p_reason: float = 0.1) -> str:
    if rng.random() < p_reason:
        return NEW_MODEL if t > RELEASE_S and rng.random() < 0.5 else REASON_MODEL
    return _pick(rng, CHAT_MODELS)


# ---- benign ---------------------------------------------------------------------------------
def gen_chat(ev: Events, w: World, rng: R, scale: float) -> None:
    """People chatting from home: a session every other day, a few turns each."""
    for _ in range(max(1, int(N_CHAT * scale))):
        a = _acct(ev, rng, "benign_chat_user")
        off = COUNTRIES[a.country][1]
        ip = w.home_ip(rng, a.country)
        for s in session_starts(rng, rng.uniform(0.2, 1.2), off):
            conv = ev.new_id("conv", rng)
            for t in human_times(rng, s, int(rng.integers(1, 7)), 40):
                m = _chat_model(rng, t, 0.08)
                ev.add(
                    a,
                    t,
                    m,
                    w.tokens(rng, "chat", m),
                    key=a.account_id + "_k",
                    ip=ip,
                    prompt=_pick(rng, w.chat),
                    conv=conv,
                )
            if rng.random() < 0.1:
                ip = w.home_ip(rng, a.country)


def gen_developer(ev: Events, w: World, rng: R, scale: float) -> None:
    """Builders on SDKs: code questions from home and from a cloud dev box, weekdays mostly."""
    for _ in range(max(1, int(N_DEV * scale))):
        a = _acct(ev, rng, "benign_developer", tier="paid", ua=_sdk(rng))
        off = COUNTRIES[a.country][1]
        home, box = w.home_ip(rng, a.country), w.cloud_ip(rng, _pick(rng, ("aws", "gcp", "azure", "hetzner")))
        for s in session_starts(rng, rng.uniform(1, 3), off, weekend=0.3):
            ip = box if rng.random() < 0.4 else home
            for t in human_times(rng, s, int(rng.integers(3, 25)), 25):
                m = _chat_model(rng, t, 0.25)
                src = w.code_chat if rng.random() < 0.7 else w.chat
                ev.add(
                    a,
                    t,
                    m,
                    w.tokens(rng, "code", m),
                    key=a.account_id + "_k",
                    ip=ip,
                    prompt=_pick(rng, src),
                    temperature=float(rng.choice([0.0, 0.2, 0.7])),
                )


def gen_power(ev: Events, w: World, rng: R, scale: float) -> None:
    """Heavy users who often ask for step-by-step reasoning; a third are maths/CS students or
    tutors whose questions are textbook maths problems."""
    for i in range(max(1, int(N_POWER * scale))):
        a = _acct(ev, rng, "benign_power_user", tier="paid")
        off = COUNTRIES[a.country][1]
        ip = w.home_ip(rng, a.country)
        mathy = i % 3 == 0
        p_step = rng.uniform(0.1, 0.4)
        for s in session_starts(rng, rng.uniform(3, 6), off, weekend=0.8):
            conv = ev.new_id("conv", rng)
            for t in human_times(rng, s, int(rng.integers(5, 30)), 35):
                m = _chat_model(rng, t, 0.5)
                if mathy and rng.random() < 0.5:
                    p = _pick(rng, w.math_train if rng.random() < 0.6 else w.math_comp)
                else:
                    p = _pick(rng, w.chat)
                if rng.random() < p_step:
                    p = f"{p}\n\n{_pick(rng, HUMAN_STEPWISE)}"
                ev.add(a, t, m, w.tokens(rng, "chat", m), key=a.account_id + "_k", ip=ip, prompt=p, conv=conv)
            if rng.random() < 0.15:
                ip = w.home_ip(rng, a.country)


# ---- hard negatives -------------------------------------------------------------------------
#: Evaluation organisations: (name, cloud, accounts, benchmarks, prompt format). Formats follow the
#: public harnesses' conventions (few are byte-identical; each org wraps items its own way).
EVAL_ORGS = (
    ("lighteval-lab", "aws", 2, ("gsm", "math"), "Question: {q}\nAnswer: Let's think step by step."),
    ("helm-like", "gcp", 2, ("bbh", "simpleqa"), "{q}\nA: Let's think step by step."),
    ("bigcode-eval", "azure", 2, ("humaneval", "mbpp"), "Complete the following Python code:\n{q}"),
    (
        "startup-evals",
        "hetzner",
        2,
        ("gsm", "simpleqa"),
        "Solve the following problem. Show your reasoning, then give the final answer after "
        "'ANSWER:'.\n\n{q}",
    ),
    (
        "uni-nlp-group",
        "univ",
        2,
        ("math", "bbh"),
        "Problem:\n{q}\n\nPlease reason step by step, and put your final answer within \\boxed{{}}.",
    ),
)


def gen_eval(ev: Events, w: World, rng: R, scale: float) -> None:
    """Nightly regression runs on a fixed subset against two models, a full run on the new model
    within hours of release, from machine clocks at fixed concurrency, temperature 0."""
    pools = {
        "gsm": w.gsm_test,
        "math": w.math_comp,
        "bbh": w.bbh,
        "humaneval": w.humaneval,
        "mbpp": w.mbpp,
        "simpleqa": w.simpleqa,
    }
    for _org, cloud, n_acc, benches, fmt in EVAL_ORGS:
        pay = ev.new_id("pm", rng)
        for _j in range(n_acc):
            a = _acct(
                ev,
                rng,
                "hardneg_eval_harness",
                tier="research" if cloud == "univ" else "paid",
                payment=pay,
                ua=("python-httpx/0.28.1", TLS["python"]),
                minimal=False,
                created_s=-rng.uniform(100, 700) * DAY_S,
            )
            ips = [
                w.ip(rng, UNIVERSITY_ASNS) if cloud == "univ" else w.cloud_ip(rng, cloud) for _ in range(2)
            ]
            conc = int(rng.choice([4, 8, 16]))
            subset = {
                b: rng.permutation(len(pools[b]))[: max(5, int(int(rng.integers(150, 300)) * scale))]
                for b in benches
            }
            runs = [
                (d * DAY_S + rng.uniform(1, 3) * 3600, m, "subset")
                for d in range(DAYS)
                for m in (CHAT_MODELS[2], REASON_MODEL)
            ]
            runs.append((RELEASE_S + rng.uniform(2, 18) * 3600, NEW_MODEL, "full"))
            for start, model, kind in runs:
                for b in benches:
                    idx = (
                        subset[b]
                        if kind == "subset"
                        else np.arange(min(len(pools[b]), max(5, int(800 * scale))))
                    )
                    t = start
                    for k, ii in enumerate(idx):
                        if k and k % conc == 0:
                            t += rng.uniform(1.5, 8.0) * (3 if model != CHAT_MODELS[2] else 1)
                        ev.add(
                            a,
                            t + rng.uniform(0, 0.05),
                            model,
                            w.tokens(rng, "code" if b in ("humaneval", "mbpp") else "chat", model),
                            key=f"{a.account_id}_ci",
                            ip=ips[k % 2],
                            prompt=fmt.format(q=pools[b][ii]),
                            temperature=0.0,
                            stream=False,
                        )
                    start = t + 60


CREW_FRAME = (
    "You are {role}. {backstory}\nYour personal goal is: {goal}\nTo give my best complete "
    "final answer to the task respond using the exact following format:\n\nThought: I now "
    "can give a great answer\nFinal Answer: Your final answer must be the great and the most "
    "complete as possible, it must be outcome described.\n\nI MUST use these formats, my job "
    "depends on it!"
)
AGENTS_SDK_FRAME = (
    "You are a helpful assistant. Use the available tools to complete the user's "
    "request. Think about which tool to call before calling it; when you have "
    "enough information, reply to the user."
)
CREW_ROLES = (
    (
        "Senior Research Analyst",
        "You work at a leading tech think tank.",
        "Uncover cutting-edge developments",
    ),
    ("Customer Support Specialist", "You help customers of a SaaS company.", "Resolve the customer's issue"),
    ("Data Analyst", "You turn raw data into insight.", "Answer the question with data"),
)


def gen_agents(ev: Events, w: World, rng: R, scale: float) -> None:
    """Unrelated customers of two agent frameworks: the framework's frame as system prompt on
    every call, tools on every call, agent loops of 2-8 calls seconds apart."""
    for i in range(max(1, int(N_AGENT * scale))):
        crew = i % 2 == 0
        a = _acct(ev, rng, "hardneg_agent_framework", tier="paid", ua=_sdk(rng))
        off = COUNTRIES[a.country][1]
        system = (
            CREW_FRAME.format(**dict(zip(("role", "backstory", "goal"), _pick(rng, CREW_ROLES), strict=True)))
            if crew
            else AGENTS_SDK_FRAME
        )
        always_on = rng.random() < 0.25
        ip = (
            w.cloud_ip(rng, _pick(rng, ("aws", "gcp", "azure", "digitalocean")))
            if always_on or rng.random() < 0.5
            else w.home_ip(rng, a.country)
        )
        starts = (
            sorted(rng.uniform(0, DAYS * DAY_S, int(rng.integers(40, 120))))
            if always_on
            else session_starts(rng, rng.uniform(1, 4), off, weekend=0.3)
        )
        tools = int(rng.integers(2, 12))
        for s in starts:
            conv = ev.new_id("conv", rng)
            q = _pick(rng, w.tool_queries)
            t = s
            for k in range(int(rng.integers(2, 9))):
                m = _pick(rng, CHAT_MODELS[1:]) if rng.random() < 0.85 else REASON_MODEL
                ev.add(
                    a,
                    t,
                    m,
                    w.tokens(rng, "code", m),
                    key=a.account_id + "_k",
                    ip=ip,
                    prompt=q
                    if k == 0
                    else f"Observation: tool returned {int(rng.integers(1, 999))} records.",
                    system=system,
                    conv=conv,
                    tools=tools,
                    temperature=0.0 if crew else 0.3,
                )
                t += rng.uniform(1, 6)


TUTOR_SYSTEM = (
    "You are Sprout, a patient maths tutor for students aged 11-18. Explain every step "
    "of the solution clearly, check the student's understanding, and never just give "
    "the final answer without the working."
)


def gen_tutoring(ev: Events, w: World, rng: R, scale: float) -> None:
    """An education product's backend: students' homework questions (real textbook maths) with a
    tutor system prompt asking for step-by-step working, each request tagged with the student's
    end_user_id, from cloud egress, school-hours and evening peaks."""
    pay = ev.new_id("pm", rng)
    students = [ev.new_id("stu", rng) for _ in range(max(1, int(3000 * scale)))]
    for env, per_day in (("prod-us", 1400), ("prod-eu", 700), ("staging", 40)):
        a = _acct(
            ev,
            rng,
            "hardneg_tutoring_backend",
            tier="startup",
            payment=pay,
            country="US",
            ua=("OpenAI/NodeJS 5.3.0", TLS["node"]),
            minimal=False,
            created_s=-400 * DAY_S,
        )
        ips = [w.cloud_ip(rng, "aws") for _ in range(3)]
        off = -5 if env != "prod-eu" else 1
        for d in range(DAYS):
            n = int(rng.poisson(per_day * scale * (0.6 if d >= 5 else 1.0)))
            hours = rng.choice(24, size=n, p=DIURNAL)
            for h in hours:
                t = d * DAY_S + (int(h) - off) * 3600 + rng.uniform(0, 3600)
                m = REASON_MODEL if rng.random() < 0.3 else CHAT_MODELS[0]
                q = _pick(rng, w.math_train) if rng.random() < 0.75 else _pick(rng, w.math_comp)
                ev.add(
                    a,
                    t,
                    m,
                    w.tokens(rng, "chat", m),
                    key=f"{a.account_id}_{env}",
                    ip=_pick(rng, ips),
                    prompt=q,
                    system=TUTOR_SYSTEM,
                    end_user=_pick(rng, students),
                    conv=ev.new_id("conv", rng),
                    temperature=0.3,
                )


RUBRIC = (
    "You are grading a response for a data-quality project. Instruction: {q}\n\nRate the "
    "response below from 1 to 7 for helpfulness, honesty and harmlessness, and justify the "
    "score in two sentences.\n\nResponse: [annotator draft attached]"
)
DRAFT = "Draft a high-quality reference answer for this instruction, which a human annotator will edit: {q}"


def gen_labelling(ev: Events, w: World, rng: R, scale: float) -> None:
    """A data-labelling vendor: 25 annotator accounts on one corporate card, office NAT in Manila,
    two shifts on weekdays, rubric grading and reference drafts over instruction datasets."""
    pay = ev.new_id("pm", rng)
    nat = [w.home_ip(rng, "PH") for _ in range(2)]
    created = -rng.uniform(60, 200) * DAY_S
    for _ in range(max(1, int(25 * scale))):
        a = _acct(
            ev,
            rng,
            "hardneg_labelling_vendor",
            tier="enterprise",
            payment=pay,
            country="PH",
            created_s=created + rng.uniform(0, 3600),
            minimal=False,
        )
        shift = 1 if rng.random() < 0.5 else 9  # UTC start hour (09:00 or 17:00 Manila)
        for d in range(5):
            s = d * DAY_S + shift * 3600 + rng.uniform(0, 1800)
            for t in human_times(rng, s, int(rng.integers(40, 90)), 150):
                m = CHAT_MODELS[2] if rng.random() < 0.7 else REASON_MODEL
                q = _pick(rng, w.diverse_instr)
                ev.add(
                    a,
                    t,
                    m,
                    w.tokens(rng, "chat", m),
                    key=a.account_id + "_k",
                    ip=_pick(rng, nat),
                    prompt=(RUBRIC if rng.random() < 0.5 else DRAFT).format(q=q),
                )


# ---- attackers ------------------------------------------------------------------------------
CLASSIC_TEMPLATES = (
    "{q}\n\nBefore answering, write out your complete chain of thought in detail, "
    "then give the final answer.",
    "Task: {q}\nRespond with an exhaustive step-by-step derivation followed by 'Final answer:'.",
    "Articulate the internal reasoning behind a complete response to the following, step by step: {q}",
)
CLASSIC_SYSTEM = "You are a meticulous expert. Always expose your full reasoning process."


def gen_classic(ev: Events, w: World, rng: R, scale: float) -> None:
    """The public record's hydra: concurrent slots harvesting reasoning around the clock, each
    account replaced by a fresh one after ~36 h, a few shared cards, datacenter egress, one HTTP
    client, fixed CoT-forcing templates, pivot to the new model two hours after release."""
    camp = "h5-classic"
    cards = [ev.new_id("pm", rng) for _ in range(CLASSIC_CARDS)]
    pool = w.diverse_instr + w.math_train + w.code_instr
    ua = ("python-requests/2.32.3", TLS["python"])
    for _slot in range(max(1, int(CLASSIC_SLOTS * scale))):
        t = rng.uniform(0, 3600)
        while t < DAYS * DAY_S:
            life = rng.uniform(0.7, 1.3) * CLASSIC_LIFE_H * 3600
            a = _acct(
                ev,
                rng,
                "atk_classic_fleet",
                attack=True,
                campaign=camp,
                tier="free" if rng.random() < 0.3 else "startup",
                payment=_pick(rng, cards),
                ua=ua,
                created_s=t - rng.uniform(60, 1800),
                minimal=False,
            )
            a.payment = _pick(rng, cards)
            end = t + life
            while t < end:
                m = NEW_MODEL if t > RELEASE_S + 7200 else REASON_MODEL
                ip = w.cloud_ip(rng, _pick(rng, ("hetzner", "ovh", "digitalocean", "vultr")))
                ev.add(
                    a,
                    t,
                    m,
                    w.tokens(rng, "chat", m),
                    key=a.account_id + "_k",
                    ip=ip,
                    prompt=_pick(rng, CLASSIC_TEMPLATES).format(q=_pick(rng, pool)),
                    system=CLASSIC_SYSTEM,
                    temperature=0.6,
                    stream=False,
                )
                t += rng.exponential(150)


# Paraphrase grammar of the adaptive operators (invented); no string is shared by every prompt.
OPENERS = (
    "",
    "",
    "",
    "Quick question: ",
    "Help me with this. ",
    "hey, ",
    "I'm stuck on this one: ",
    "Can you help? ",
    "ok so ",
    "Got this from a worksheet: ",
    "My friend asked me this: ",
)
MATH_ASKS = (
    "",
    "",
    "",
    "Show all the working.",
    "How do you get there?",
    "explain how to solve it",
    "I need to see each step, not just the answer.",
    "Can you justify every step?",
    "walk me through the logic",
    "what's the method here?",
)
CODE_ASKS = (
    "",
    "",
    "Add comments explaining each part.",
    "Explain the approach first, then the code.",
    "what's the complexity and why?",
    "write it in python please",
    "Include a few tests.",
)
BROAD_ASKS = (
    "",
    "",
    "",
    "Give a thorough answer.",
    "Explain your thinking.",
    "be detailed",
    "Please include the reasoning behind your answer.",
    "answer carefully and fully",
)


def _paraphrase(rng: R, item: str, asks: tuple[str, ...]) -> str:
    q = item.strip()
    if rng.random() < 0.25:
        q = q[0].lower() + q[1:] if q else q
    if rng.random() < 0.2:
        q = q.rstrip(".?!")
    ask = _pick(rng, asks)
    p = f"{_pick(rng, OPENERS)}{q}"
    if ask:
        p = f"{ask} {p}" if rng.random() < 0.3 else f"{p}{' ' if rng.random() < 0.5 else chr(10)}{ask}"
    return p


def _adaptive(
    ev: Events,
    w: World,
    rng: R,
    n: int,
    persona: str,
    camp: str,
    share: float,
    pool: list[str],
    asks: tuple[str, ...],
    models: tuple[tuple[str, float], ...],
    kind: str,
    per_day: tuple[float, float],
    aged_owner_days: tuple[int, int] | None,
) -> None:
    """Shared body of the adaptive variants: one card per account, residential exit in the claimed
    country (sticky for 1-3 days), browser or SDK client, human sessions with human typing speed,
    cover traffic of real chat prompts, accounts take disjoint slices of the shuffled item pool."""
    order = rng.permutation(len(pool))
    cursor = 0
    names = [m for m, _ in models]
    probs = np.array([p for _, p in models])
    for _i in range(n):
        country = _pick(rng, ("US", "US", "GB", "DE", "IN", "JP", "FR", "KR"))
        # A bought account has years of genuine use behind it.
        created = -rng.uniform(200, 1100) * DAY_S if aged_owner_days else -rng.uniform(20, 300) * DAY_S
        a = _acct(
            ev,
            rng,
            persona,
            attack=True,
            campaign=camp,
            country=country,
            tier="paid",
            created_s=created,
            ua=_browser(rng) if rng.random() < 0.6 else _sdk(rng),
            minimal=bool(rng.random() < 0.2),
        )
        off = COUNTRIES[country][1]
        owner_ip = w.home_ip(rng, country)
        takeover = int(rng.integers(*aged_owner_days)) if aged_owner_days else 0
        # The original owner's last days: ordinary chat from their home line.
        for s in session_starts(rng, 1.0, off, days=range(takeover)):
            for t in human_times(rng, s, int(rng.integers(1, 6)), 40):
                m = _chat_model(rng, t, 0.05)
                ev.add(
                    a,
                    t,
                    m,
                    w.tokens(rng, "chat", m),
                    key=a.account_id + "_k",
                    ip=owner_ip,
                    prompt=_pick(rng, w.chat),
                )
        ip, ip_until = w.home_ip(rng, country), 0.0
        for s in session_starts(rng, rng.uniform(*per_day), off, weekend=0.75, days=range(takeover, DAYS)):
            if s > ip_until:
                ip, ip_until = w.home_ip(rng, country), s + rng.uniform(1, 3) * DAY_S
            conv = ev.new_id("conv", rng)
            for t in human_times(rng, s, int(rng.integers(8, 30)), 25):
                m = names[int(rng.choice(len(names), p=probs))]
                if m == REASON_MODEL and t > RELEASE_S + rng.uniform(8, 40) * 3600 and rng.random() < 0.6:
                    m = NEW_MODEL
                if rng.random() < share:
                    p = _paraphrase(rng, pool[order[cursor % len(pool)]], asks)
                    cursor += 1
                    k = kind
                else:
                    p, k = _pick(rng, w.chat), "chat"
                ev.add(
                    a,
                    t,
                    m,
                    w.tokens(rng, k, m),
                    key=a.account_id + "_k",
                    ip=ip,
                    prompt=p,
                    conv=conv,
                    temperature=float(rng.choice([0.7, 1.0])),
                )


def gen_adaptive(ev: Events, w: World, rng_for, scale: float) -> None:
    """Three adaptive operators, each a separate campaign."""
    _adaptive(
        ev,
        w,
        rng_for("atk_adaptive_aged"),
        max(2, int(N_ADAPT_AGED * scale)),
        "atk_adaptive_aged",
        "h5-aged",
        SHARE_AGED,
        w.diverse_instr + w.chat[: len(w.chat) // 2],
        BROAD_ASKS,
        ((CHAT_MODELS[0], 0.3), (CHAT_MODELS[1], 0.15), (CHAT_MODELS[2], 0.3), (REASON_MODEL, 0.25)),
        "chat",
        (4, 7),
        (1, 4),
    )
    _adaptive(
        ev,
        w,
        rng_for("atk_adaptive_math"),
        max(2, int(N_ADAPT_MATH * scale)),
        "atk_adaptive_math",
        "h5-math",
        SHARE_MATH,
        w.math_train + w.math_comp,
        MATH_ASKS,
        ((REASON_MODEL, 0.7), (CHAT_MODELS[2], 0.3)),
        "chat",
        (3, 6),
        None,
    )
    _adaptive(
        ev,
        w,
        rng_for("atk_adaptive_lowshare"),
        max(2, int(N_ADAPT_LOWSHARE * scale)),
        "atk_adaptive_lowshare",
        "h5-lowshare",
        SHARE_LOWSHARE,
        w.code_instr,
        CODE_ASKS,
        ((CHAT_MODELS[2], 0.5), (REASON_MODEL, 0.3), (CHAT_MODELS[0], 0.2)),
        "code",
        (4, 7),
        None,
    )


POPULATIONS = (
    ("benign_chat_user", gen_chat),
    ("benign_developer", gen_developer),
    ("benign_power_user", gen_power),
    ("hardneg_eval_harness", gen_eval),
    ("hardneg_agent_framework", gen_agents),
    ("hardneg_tutoring_backend", gen_tutoring),
    ("hardneg_labelling_vendor", gen_labelling),
    ("atk_classic_fleet", gen_classic),
)
