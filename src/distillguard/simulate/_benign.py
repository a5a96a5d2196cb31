"""Benign personas, including the hard negatives that each resemble one attack signal.

Timing: every persona's in-session (or, for backends, per-window) inter-arrival cv is
drawn from the ServeGen per-client window fit (``_timing_fit``); ``burstiness`` only
places a persona inside it (batch workers and eval loops regular, humans and agents a
little burstier) and sessions, diurnal profile and volume carry the persona semantics.

Hard negatives and the attack signal each one mimics (they must stay clear):

* ``benign_batch_enterprise``: templated prompts at high volume from cloud IPs, machine-regular timing.
* ``benign_eval_harness``: benchmark items with "think step by step" through one account,
  temperature 0, log-probs, and a fast move to a newly released model.
* ``benign_agent_framework``: tool use in rapid, regular loops.
* ``benign_university_class``: dozens of edu accounts created together behind one NAT sending
  near-identical prompts in the same hour.
* ``benign_shared_card_team``: several accounts on one payment instrument.
* ``benign_relay_users``: unrelated users sharing privacy-relay egress addresses.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from distillguard.simulate import _pools as P
from distillguard.simulate import _prompts
from distillguard.simulate._accounts import Accounts, set_home_network
from distillguard.simulate._events import Chunk
from distillguard.simulate._ids import mix64
from distillguard.simulate._persona import Persona
from distillguard.simulate._profile import AZURE_CODE_IN, Profile
from distillguard.simulate._timing import TimingSpec, session_times
from distillguard.simulate._timing_fit import STEADY_TROUGH_TO_PEAK
from distillguard.simulate._world import World

#: Diurnal strength of always-on backends: ServeGen steady clients' median hourly profile
#: has trough / peak = STEADY_TROUGH_TO_PEAK; on the "human" curve (trough 0.05 of peak)
#: that is strength (1 - ratio) / (1 - 0.05).
STEADY_STRENGTH = round((1.0 - STEADY_TROUGH_TO_PEAK) / (1.0 - 0.05), 3)

HOBBY_CLIENTS = {
    "openai_python": 0.30,
    "openai_node": 0.12,
    "httpx": 0.06,
    "python_requests": 0.10,
    "curl": 0.04,
    "chrome": 0.18,
    "safari": 0.12,
    "firefox": 0.04,
    "okhttp": 0.04,
}
DEV_CLIENTS = {
    "openai_python": 0.34,
    "anthropic_python": 0.08,
    "openai_node": 0.18,
    "langchain": 0.10,
    "litellm": 0.06,
    "curl": 0.10,
    "go_http": 0.06,
    "reqwest": 0.03,
    "httpx": 0.05,
}

PROFILES: dict[str, Profile] = {
    "benign_hobbyist": Profile(
        name="benign_hobbyist",
        tiers={"free": 0.7, "paid": 0.3},
        network={"residential": 0.66, "mobile": 0.24, "relay": 0.04, "vpn": 0.06},
        roam={"mobile": 0.08},
        clients=HOBBY_CLIENTS,
        volume_sigma=1.2,
        # Window cv from the ServeGen fit (_timing_fit); sessions on the evening-heavy clock.
        timing=TimingSpec(profile="human", strength=0.85, session_len=16.0, gap_s=22.0, burstiness=0.1),
        prompts={"chat": 0.84, "dev": 0.1, "vision_benign": 0.06},
        models={"flagship": 0.45, "mini": 0.45, "legacy": 0.1},
    ),
    "benign_developer": Profile(
        name="benign_developer",
        tiers={"paid": 0.6, "free": 0.25, "startup": 0.15},
        network={"residential": 0.55, "corporate": 0.3, "hosting": 0.15},
        roam={"mobile": 0.04, "hosting": 0.05},
        clients=DEV_CLIENTS,
        timing=TimingSpec(profile="work", strength=0.75, session_len=12.0, gap_s=30.0),
        tokens_in=AZURE_CODE_IN,
        prompts={"dev": 0.7, "chat": 0.2, "agent_task": 0.1},
        models={"flagship": 0.5, "mini": 0.3, "reasoning": 0.2},
        new_model_share=0.35,
        logprobs=0.02,
    ),
    "benign_product_backend": Profile(
        name="benign_product_backend",
        tiers={"paid": 0.5, "enterprise": 0.3, "startup": 0.2},
        network={"hosting": 1.0},
        ips_per_account=(2, 6),
        clients={"openai_python": 0.4, "openai_node": 0.3, "go_http": 0.15, "okhttp": 0.05, "httpx": 0.1},
        age_days=(420.0, 0.7),
        volume_sigma=1.0,
        timing=TimingSpec(profile="human", strength=STEADY_STRENGTH, mode="steady"),
        prompts={"product_user": 1.0},
        system_prompts=tuple(P.PRODUCT_SYSTEM_PROMPTS),
        system_share=1.0,
        end_user_share=0.92,
        end_users=20000,
        models={"mini": 0.6, "flagship": 0.4},
        new_model_share=0.15,
        stream=0.8,
        temperatures=(0.3, 0.5, 0.7),
        keys=(1, 4),
    ),
    "benign_batch_enterprise": Profile(
        name="benign_batch_enterprise",
        tiers={"enterprise": 1.0},
        network={"hosting": 1.0},
        ips_per_account=(1, 3),
        clients={"python_requests": 0.4, "openai_python": 0.4, "go_http": 0.2},
        age_days=(700.0, 0.5),
        volume_sigma=0.6,
        timing=TimingSpec(
            profile="night_batch", strength=0.95, session_len=1500.0, gap_s=0.9, burstiness=-0.5
        ),
        tokens_in=(6.2, 0.5),
        tokens_out=(3.9, 0.6),
        prompts={"batch": 1.0},
        models={"mini": 0.7, "flagship": 0.3},
        new_model_share=0.05,
        stream=0.0,
        temperatures=(0.0,),
        conversation="none",
        keys=(1, 2),
    ),
    "benign_eval_harness": Profile(
        name="benign_eval_harness",
        tiers={"research": 0.6, "enterprise": 0.2, "startup": 0.2},
        network={"hosting": 0.6, "university": 0.2, "corporate": 0.2},
        clients={"openai_python": 0.6, "litellm": 0.2, "httpx": 0.2},
        age_days=(500.0, 0.6),
        volume_sigma=0.5,
        timing=TimingSpec(profile="work", strength=0.5, session_len=600.0, gap_s=1.4, burstiness=-0.5),
        tokens_in=(5.4, 0.6),
        tokens_out=(6.0, 0.7),
        prompts={"benchmark": 1.0},
        system_prompts=tuple(P.EVAL_SYSTEM_PROMPTS),
        system_share=0.5,
        models={"flagship": 0.4, "reasoning": 0.4, "mini": 0.2},
        new_model_share=0.6,
        new_model_tau_h=18.0,
        logprobs=0.3,
        stream=0.0,
        temperatures=(0.0,),
        conversation="request",
    ),
    "benign_agent_framework": Profile(
        name="benign_agent_framework",
        tiers={"paid": 0.5, "startup": 0.5},
        network={"hosting": 0.6, "residential": 0.4},
        clients={"langchain": 0.4, "openai_python": 0.3, "litellm": 0.2, "openai_node": 0.1},
        timing=TimingSpec(profile="work", strength=0.5, session_len=25.0, gap_s=3.0, burstiness=0.2),
        tokens_in=(7.6, 0.8),
        tokens_out=(4.6, 0.9),
        prompts={"agent_step": 0.75, "agent_task": 0.25},
        system_prompts=tuple(P.AGENT_SYSTEM_PROMPTS),
        system_share=0.95,
        models={"flagship": 0.6, "reasoning": 0.3, "mini": 0.1},
        new_model_share=0.4,
        stream=0.3,
        temperatures=(0.0, 0.2, None),
    ),
    "benign_university_class": Profile(
        name="benign_university_class",
        tiers={"edu": 1.0},
        network={"university": 1.0},
        clients={"chrome": 0.4, "openai_python": 0.4, "safari": 0.2},
        age_days=(30.0, 0.2),
        volume_sigma=0.5,
        timing=TimingSpec(profile="human", strength=0.8, session_len=5.0, gap_s=70.0, mode="slots"),
        prompts={"chat": 1.0},  # the other 80% are the class assignments (see UniversityClass)
        models={"mini": 0.7, "flagship": 0.3},
        new_model_share=0.1,
    ),
    "benign_shared_card_team": Profile(
        name="benign_shared_card_team",
        tiers={"paid": 0.6, "startup": 0.4},
        network={"corporate": 0.5, "residential": 0.5},
        clients=DEV_CLIENTS,
        timing=TimingSpec(profile="work", strength=0.75, session_len=10.0, gap_s=35.0),
        tokens_in=AZURE_CODE_IN,
        prompts={"dev": 0.6, "chat": 0.3, "agent_task": 0.1},
        models={"flagship": 0.5, "mini": 0.3, "reasoning": 0.2},
    ),
    "benign_relay_users": Profile(
        name="benign_relay_users",
        tiers={"free": 0.6, "paid": 0.4},
        network={"relay": 1.0},
        clients={"safari": 0.55, "openai_node": 0.2, "chrome": 0.15, "openai_python": 0.1},
        timing=TimingSpec(profile="human", strength=0.85, session_len=16.0, gap_s=22.0, burstiness=0.1),
        prompts={"chat": 0.9, "vision_benign": 0.1},
        models={"flagship": 0.5, "mini": 0.5},
    ),
}

#: Students per class (the class is the unit that shares a NAT, creation day and assignment).
CLASS_SIZE = (20, 45)
#: Class meetings per week and length of a meeting (hours) in which students work.
MEETINGS_PER_WEEK = 3
MEETING_HOURS = 1.5
#: Share of a student's requests that are about the current assignment.
ASSIGNMENT_SHARE = 0.8
#: Accounts sharing one card in a team (inclusive).
TEAM_SIZE = (2, 6)


class UniversityClass(Persona):
    """Classes of edu accounts: one NAT, created the same day, same assignment in the same hour."""

    def customize(self, world: World, rng: np.random.Generator, acc: Accounts) -> None:
        n = len(acc)
        cls = np.zeros(n, dtype=np.int64)
        pos, c = 0, 0
        while pos < n:
            size = int(rng.integers(CLASS_SIZE[0], CLASS_SIZE[1] + 1))
            if n - (pos + size) < CLASS_SIZE[0]:  # no stub class: the rest joins this one
                size = n - pos
            cls[pos : pos + size] = c
            pos, c = pos + size, c + 1
        acc.extra["class"] = cls
        days = world.days
        meetings = []
        for k in range(c):
            nat = world.pools["university"][rng.integers(0, len(world.pools["university"]), 2)]
            members = np.flatnonzero(cls == k)
            set_home_network(world, acc, rng, members, "university", nat)
            acc.country[members] = acc.country[members[0]]
            acc.tz[members] = acc.tz[members[0]]
            acc.created_h[members] = -24.0 * rng.uniform(10, 60) + rng.uniform(0, 3, len(members))
            hour = rng.integers(9, 17) - (acc.tz[members[0]] - 11)
            weekdays = rng.choice(5, size=MEETINGS_PER_WEEK, replace=False)
            slots = [d * 24 + hour for d in range(days) if (world.start.weekday() + d) % 7 in weekdays]
            meetings.append(np.array(slots or [hour], dtype=np.float64))
        acc.extra["meetings"] = np.array(meetings, dtype=object)

    def batches(
        self,
        world: World,
        rng: np.random.Generator,
        acc: Accounts,
        idx: np.ndarray,
        counts: np.ndarray,
        index: int,
    ) -> list[tuple[Profile, Chunk]]:
        a = np.repeat(idx, counts)
        cls = acc.extra["class"][a]
        t, sess = session_times(
            rng,
            world.clock,
            counts,
            acc.lo_h[idx],
            acc.hi_h[idx],
            acc.tz[idx],
            self.profile.timing,
            slot_start_h=np.zeros(len(idx)),
            slot_len_h=MEETING_HOURS,
            keys=acc.key[idx],
        )
        # Every session happens in one of the class's meetings: same hour for the whole class.
        t = t + _session_meeting(rng, sess, cls, acc.extra["meetings"]) * 3600.0
        t = np.clip(t, 0.0, world.clock.hours * 3600.0 - 1e-3)
        mask = pa.array(rng.random(len(a)) < ASSIGNMENT_SHARE)
        homework = university_prompts(rng, cls, t / 3600.0)
        override = pc.if_else(mask, homework, pa.nulls(len(a), pa.string()))
        return [(self.profile, Chunk(acc=a, t_s=t, sess=sess, index=index, prompt=override))]


def _session_meeting(
    rng: np.random.Generator, sess: np.ndarray, cls: np.ndarray, meet: np.ndarray
) -> np.ndarray:
    """Start hour of the meeting each session belongs to (one draw per session, by class)."""
    out = np.empty(len(sess))
    u = rng.random(int(sess.max()) + 1 if len(sess) else 0)
    for c in np.unique(cls):
        sel = cls == c
        m = meet[c]
        out[sel] = m[np.minimum((u[sess[sel]] * len(m)).astype(np.int64), len(m) - 1)]
    return out


def university_prompts(rng: np.random.Generator, cls: np.ndarray, t_h: np.ndarray):
    """The class's assignment for that week (class and week decide which)."""
    week = (t_h // (24 * 7)).astype(np.int64)
    assignment = (cls * 3 + week) % len(P.ASSIGNMENTS)
    return _prompts.assignment_prompts(rng, assignment)


class SharedCardTeam(Persona):
    """Small teams, each on one company card; team-mates often share the office NAT."""

    def customize(self, world: World, rng: np.random.Generator, acc: Accounts) -> None:
        n = len(acc)
        pos = 0
        while pos < n:
            size = int(rng.integers(TEAM_SIZE[0], TEAM_SIZE[1] + 1))
            members = np.arange(pos, min(pos + size, n))
            acc.pay_key[members] = acc.pay_key[members[0]]
            acc.country[members] = acc.country[members[0]]
            acc.tz[members] = acc.tz[members[0]]
            if acc.net[members[0]] == "corporate":
                office = acc.ips[acc.ip_off[members[0]] : acc.ip_off[members[0]] + acc.ip_n[members[0]]]
                set_home_network(world, acc, rng, members, "corporate", office)
            pos += size
        acc.extra["team"] = mix64(acc.pay_key)


FACTORIES: dict[str, type[Persona]] = {
    "benign_university_class": UniversityClass,
    "benign_shared_card_team": SharedCardTeam,
}
