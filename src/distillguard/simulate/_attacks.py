"""Attack personas, modelled on the public record (``shared/DESIGN.md``).

None of them carries a single artificial give-away: they use the same SDKs, token
sizes in the benign range (partly), some residential addresses, paraphrased prompts
mixed with real task corpora and jittered timing. What gives them away is the
combination the record describes: shared cards, lock-step timing, narrow capability
focus, creation bursts, replacement chains, fast pivots to a new model.

Label policy for hijacked keys (``relay_hijacked_key``): the account belongs to a
legitimate customer, but the traffic the attacker sends through its stolen key is
distillation. The provider must act on it (revoke the key, tell the customer), so the
account is labelled ``is_attack=True`` with the relay's campaign id and its own
persona, which lets evaluation report "victim accounts found" apart from
"attacker accounts found" and lets enforcement choose key rotation over a ban.
"""

from __future__ import annotations

import numpy as np

from distillguard.simulate import _pools as P
from distillguard.simulate._accounts import Accounts, make_accounts, set_home_network, splice
from distillguard.simulate._benign import DEV_CLIENTS, HOBBY_CLIENTS
from distillguard.simulate._benign import PROFILES as BENIGN
from distillguard.simulate._events import Chunk
from distillguard.simulate._persona import Persona
from distillguard.simulate._profile import Profile
from distillguard.simulate._timing import TimingSpec, session_times
from distillguard.simulate._world import World

HARVEST_CLIENTS = {"openai_python": 0.45, "httpx": 0.25, "aiohttp": 0.2, "litellm": 0.1}
MIXED_CLIENTS = {**HOBBY_CLIENTS, **{"aiohttp": 0.08, "httpx": 0.1, "litellm": 0.05}}

PROFILES: dict[str, Profile] = {
    "sync_reasoning_harvest": Profile(
        name="sync_reasoning_harvest",
        is_attack=True,
        tiers={"paid": 0.5, "startup": 0.3, "research": 0.2},
        countries={"US": 0.4, "SG": 0.2, "GB": 0.1, "CA": 0.1, "JP": 0.1, "DE": 0.1},
        network={"hosting": 0.5, "proxy": 0.3, "vpn": 0.2},
        clients=HARVEST_CLIENTS,
        age_days=(12.0, 0.6),
        volume_sigma=0.3,
        timing=TimingSpec(profile="work", strength=0.45, mode="load_balanced"),
        tokens_in=(5.9, 0.7),
        tokens_out=(6.6, 0.6),
        prompts={"cot": 0.35, "completed_cot": 0.2, "rubric": 0.2, "censor": 0.1, "forced_language": 0.15},
        system_prompts=tuple(P.DISTILL_SYSTEM_PROMPTS),
        system_share=0.5,
        models={"reasoning": 0.5, "flagship": 0.5},
        new_model_share=0.7,
        new_model_tau_h=8.0,
        logprobs=0.15,
        stream=0.2,
        temperatures=(0.0, 0.3, 0.6, 1.0),
        conversation="request",
        keys=(1, 3),
        rate_limited=0.02,
        refused=0.01,
    ),
    "capability_sweep": Profile(
        name="capability_sweep",
        is_attack=True,
        tiers={"edu": 0.25, "startup": 0.25, "research": 0.2, "free": 0.15, "paid": 0.15},
        network={"residential": 0.35, "proxy": 0.25, "hosting": 0.25, "vpn": 0.1, "mobile": 0.05},
        clients={**DEV_CLIENTS, "aiohttp": 0.1, "httpx": 0.1},
        volume_sigma=0.9,
        timing=TimingSpec(profile="flat", strength=0.4, session_len=30.0, gap_s=8.0),
        tokens_in=(6.8, 0.9),
        tokens_out=(6.2, 0.8),
        prompts={"code_sweep": 0.35, "tool_sweep": 0.3, "vision_sweep": 0.2, "cot": 0.1, "paraphrase": 0.05},
        system_prompts=tuple(P.AGENT_SYSTEM_PROMPTS + P.DISTILL_SYSTEM_PROMPTS),
        system_share=0.6,
        models={"flagship": 0.6, "reasoning": 0.3, "mini": 0.1},
        new_model_share=0.45,
        new_model_tau_h=20.0,
        logprobs=0.05,
        stream=0.3,
        conversation="session",
        rate_limited=0.01,
    ),
    "hydra_proxy": Profile(
        name="hydra_proxy",
        is_attack=True,
        tiers={"free": 0.5, "paid": 0.4, "startup": 0.1},
        network={"proxy": 0.85, "hosting": 0.15},
        clients={"openai_python": 0.3, "httpx": 0.2, "aiohttp": 0.2, "openai_node": 0.15, "litellm": 0.15},
        age_days=(3.0, 0.8),
        volume_sigma=0.6,
        timing=TimingSpec(profile="flat", strength=0.15, session_len=15.0, gap_s=5.0),
        tokens_in=(6.3, 0.9),
        tokens_out=(5.9, 0.9),
        prompts={
            "chat": 0.3,
            "dev": 0.15,
            "cot": 0.2,
            "code_sweep": 0.1,
            "meta_generation": 0.1,
            "rubric": 0.05,
            "tool_sweep": 0.05,
            "forced_language": 0.05,
        },
        models={"flagship": 0.6, "reasoning": 0.2, "mini": 0.2},
        new_model_share=0.5,
        new_model_tau_h=8.0,
        logprobs=0.05,
        stream=0.4,
        conversation="request",
        rate_limited=0.015,
    ),
    "low_and_slow": Profile(
        name="low_and_slow",
        is_attack=True,
        tiers={"free": 0.6, "paid": 0.3, "edu": 0.1},
        network={"residential": 0.4, "proxy": 0.4, "mobile": 0.2},
        clients=MIXED_CLIENTS,
        age_days=(20.0, 0.8),
        volume_sigma=0.5,
        timing=TimingSpec(profile="human", strength=0.8, session_len=5.0, gap_s=60.0, burstiness=0.1),
        tokens_out=(5.6, 0.8),
        prompts={"paraphrase": 0.6, "cot": 0.15, "forced_language": 0.05, "chat": 0.2},
        models={"legacy": 0.4, "mini": 0.3, "flagship": 0.3},
        new_model_share=0.1,
        stream=0.6,
    ),
    "relay": Profile(
        name="relay",
        is_attack=True,
        tiers={"paid": 0.5, "startup": 0.5},
        network={"hosting": 1.0},
        ips_per_account=(2, 5),
        clients={"openai_node": 0.4, "go_http": 0.3, "openai_python": 0.3},
        age_days=(60.0, 0.6),
        volume_sigma=0.5,
        timing=TimingSpec(profile="human", strength=0.5, mode="steady"),  # a service: always on
        prompts={"chat": 0.6, "dev": 0.3, "agent_task": 0.1},
        system_prompts=tuple(P.RELAY_SYSTEM_PROMPTS),
        system_share=0.9,
        end_user_share=0.5,
        end_users=20000,
        models={"reasoning": 0.4, "flagship": 0.6},
        new_model_share=0.5,
        new_model_tau_h=24.0,
        stream=0.9,
        conversation="session",
    ),
}

#: Accounts sharing one card in the sync harvest fleet (the record: "shared payment methods").
SYNC_ACCOUNTS_PER_CARD = 6
#: Hydra: mean hours an account lives before it is banned and replaced at once.
HYDRA_MEAN_LIFETIME_H = 60.0
#: Hydra: accounts per reused virtual card.
HYDRA_ACCOUNTS_PER_CARD = 8
#: Capability sweep: accounts per creation burst, burst length (hours), share banned early.
SWEEP_BURST_SIZE = 40
SWEEP_BURST_HOURS = 2.0
SWEEP_BANNED_SHARE = 0.25
#: Relay: share of a victim's requests that go through the stolen key once hijacked.
STOLEN_SHARE = 0.65
#: Relay: how the attacker's tooling uses a stolen key (bursts of forwarded requests).
STOLEN_TIMING = TimingSpec(profile="human", strength=0.5, session_len=50.0, gap_s=2.5)
#: Relay: hijack happens in this fraction range of the scenario.
HIJACK_WINDOW = (0.1, 0.6)


def _share_cards(acc: Accounts, rng: np.random.Generator, per_card: int) -> None:
    n = len(acc)
    cards = max(1, round(n / per_card))
    owner = rng.integers(0, cards, n)
    leaders = np.array([np.flatnonzero(owner == c)[0] if (owner == c).any() else 0 for c in range(cards)])
    acc.pay_key[:] = acc.pay_key[leaders[owner]]


class SyncHarvest(Persona):
    """Tens of accounts on a few cards, one operator clock, load-balanced lock-step timing."""

    def customize(self, world: World, rng: np.random.Generator, acc: Accounts) -> None:
        _share_cards(acc, rng, SYNC_ACCOUNTS_PER_CARD)
        acc.tz[:] = 8 + 11  # the operator's working clock (UTC+8), whatever the declared country


class CapabilitySweep(Persona):
    """Hundreds of accounts of varied signup paths created in bursts; some banned early."""

    def customize(self, world: World, rng: np.random.Generator, acc: Accounts) -> None:
        n, end = len(acc), world.days * 24.0
        bursts = max(2, n // SWEEP_BURST_SIZE)
        at = rng.uniform(-240.0, 0.6 * end, bursts)
        acc.created_h[:] = at[rng.integers(0, bursts, n)] + rng.uniform(0, SWEEP_BURST_HOURS, n)
        acc.lo_h[:] = np.maximum(acc.created_h, 0.0)
        banned = rng.random(n) < SWEEP_BANNED_SHARE
        life = rng.exponential(48.0, n) + 2.0
        acc.hi_h[:] = np.where(banned, np.minimum(acc.lo_h + life, end), end)


class HydraProxy(Persona):
    """A reseller's fleet: concurrent slots, each a chain of accounts replaced on ban."""

    def customize(self, world: World, rng: np.random.Generator, acc: Accounts) -> None:
        n, end = len(acc), world.days * 24.0
        per_slot = max(1.0, end / HYDRA_MEAN_LIFETIME_H)
        slots = max(1, round(n / per_slot))
        slot = np.arange(n) % slots
        life = rng.exponential(1.0, n) + 0.05
        lo = np.zeros(n)
        hi = np.zeros(n)
        for s in range(slots):
            members = np.flatnonzero(slot == s)
            span = np.cumsum(life[members])
            span = span / span[-1] * end
            lo[members] = np.concatenate([[0.0], span[:-1]])
            hi[members] = span
        acc.lo_h[:] = lo
        acc.hi_h[:] = hi
        replaced = lo > 0
        # A replacement account is created minutes before it takes over the slot.
        acc.created_h[:] = np.where(replaced, lo - rng.uniform(0.02, 0.5, n), acc.created_h)
        acc.weight[:] = acc.weight * (hi - lo) / end
        _share_cards(acc, rng, HYDRA_ACCOUNTS_PER_CARD)


class Relay(Persona):
    """Operator accounts forwarding their users' traffic, plus hijacked customer keys."""

    def __init__(self, *args: object, victims: int = 0, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.victims = int(victims)

    def customize(self, world: World, rng: np.random.Generator, acc: Accounts) -> None:
        n = len(acc)
        v = min(self.victims, n - 1)
        if v <= 0:
            acc.extra["victim"] = np.zeros(n, dtype=bool)
            return
        sel = np.arange(n - v, n)
        dev = make_accounts(world, BENIGN["benign_developer"], rng, v, self.salt + 1000)
        splice(acc, sel, dev)
        acc.persona[sel] = "relay_hijacked_key"
        acc.extra["victim"] = np.isin(np.arange(n), sel)
        end = world.days * 24.0
        acc.extra["hijack_h"] = rng.uniform(HIJACK_WINDOW[0] * end, HIJACK_WINDOW[1] * end, n)
        # The attacker's infrastructure for stolen-key traffic: the first operator's servers.
        set_home_network(world, acc, rng, np.array([0]), "hosting")

    def batches(
        self,
        world: World,
        rng: np.random.Generator,
        acc: Accounts,
        idx: np.ndarray,
        counts: np.ndarray,
        index: int,
    ) -> list[tuple[Profile, Chunk]]:
        victim = acc.extra["victim"][idx]
        out: list[tuple[Profile, Chunk]] = []
        ops = idx[~victim]
        if len(ops):
            t, sess = self.times(world, rng, acc, ops, counts[~victim])
            out.append(
                (self.profile, Chunk(acc=np.repeat(ops, counts[~victim]), t_s=t, sess=sess, index=4 * index))
            )
        vic = idx[victim]
        if len(vic):
            c = counts[victim]
            stolen = np.floor(c * STOLEN_SHARE).astype(np.int64)
            own = c - stolen
            dev = BENIGN["benign_developer"]
            lo, hi, tz = acc.lo_h[vic], acc.hi_h[vic], acc.tz[vic]
            t, sess = session_times(rng, world.clock, own, lo, hi, tz, dev.timing, keys=acc.key[vic])
            out.append((dev, Chunk(acc=np.repeat(vic, own), t_s=t, sess=sess, index=4 * index + 1)))
            keep = stolen > 0
            if keep.any():
                sv, sc = vic[keep], stolen[keep]
                t, sess = session_times(
                    rng,
                    world.clock,
                    sc,
                    acc.extra["hijack_h"][sv],
                    acc.hi_h[sv],
                    np.full(len(sv), 11),
                    STOLEN_TIMING,
                    keys=acc.key[sv] ^ np.uint64(0x5701E),  # the attacker's tooling, not the owner
                )
                a = np.repeat(sv, sc)
                op_ips = acc.ips[acc.ip_off[0] : acc.ip_off[0] + acc.ip_n[0]]
                chunk = Chunk(
                    acc=a,
                    t_s=t,
                    sess=sess,
                    index=4 * index + 2,
                    key_slot=acc.n_keys[a],  # a key slot the owner never uses itself: the stolen key
                    ip=op_ips[rng.integers(0, len(op_ips), len(a))],
                    client_row=np.full(len(a), acc.client[0, 0]),
                )
                out.append((self.profile, chunk))
        return out


FACTORIES: dict[str, type[Persona]] = {
    "sync_reasoning_harvest": SyncHarvest,
    "capability_sweep": CapabilitySweep,
    "hydra_proxy": HydraProxy,
    "relay": Relay,
}
