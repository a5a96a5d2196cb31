"""The simulated world every persona lives in: clock, models, networks, clients, providers.

Shared egress pools (carrier CGNAT, VPN and Tor exits, privacy relays, corporate and
university NATs, a residential proxy pool) are drawn once per run, so unrelated
accounts that use the same kind of egress genuinely share addresses, as they do in
real logs. That sharing is what the hard negatives (relay users, university classes)
exercise.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np

from distillguard.schema import DEFAULT_PROVIDER
from distillguard.simulate._clients import ClientTable
from distillguard.simulate._corpus import Corpus
from distillguard.simulate._ids import key64
from distillguard.simulate._netranges import NetRanges
from distillguard.simulate._prompts import PromptCache
from distillguard.simulate._timing import Clock

#: Sizes of the shared egress pools (addresses), per scenario scale unit (see ``pool_scale``).
SHARED_POOLS: dict[str, tuple[str, int]] = {
    "mobile": ("mobile", 3000),  # carrier CGNAT egress addresses
    "vpn": ("vpn", 600),  # commercial VPN exit addresses
    "tor": ("tor", 300),  # Tor exit relays
    "relay": ("relay", 2500),  # privacy-relay egress addresses
    "corporate": ("corporate", 400),  # ~200 organisations x 2 NAT addresses
    "university": ("university", 120),  # campus NAT addresses
    "proxy": ("residential", 40000),  # residential proxy pool exits
}

#: Share of the residential proxy pool's exits that are IPv6.
PROXY_V6_SHARE = 0.15

#: Declared billing country -> UTC offset in hours (the account's clock for diurnal activity).
UTC_OFFSET: dict[str, int] = {
    "US": -6,
    "CA": -5,
    "BR": -3,
    "GB": 0,
    "FR": 1,
    "DE": 1,
    "ES": 1,
    "RO": 2,
    "RU": 3,
    "IN": 5,
    "CN": 8,
    "SG": 8,
    "KR": 9,
    "JP": 9,
    "AU": 10,
    "CH": 1,
    "SE": 1,
    "NL": 1,
    "PL": 1,
    "MX": -6,
}


@dataclass(frozen=True)
class Model:
    """A served model. ``release_h`` is hours after scenario start (negative = already out)."""

    name: str
    role: str  # legacy | mini | flagship | reasoning | next: what personas ask for
    release_h: float
    reasoning: bool
    new: bool = False


@dataclass
class World:
    seed: int
    start: datetime
    days: int
    models: list[Model]
    providers: list[str]
    nets: NetRanges
    clients: ClientTable
    corpus: Corpus | None
    clock: Clock = field(init=False)
    pools: dict[str, np.ndarray] = field(init=False)
    prompts: PromptCache = field(init=False)

    def __post_init__(self) -> None:
        self.clock = Clock(self.days, self.start.weekday())
        self.prompts = PromptCache(self.seed, self.corpus)
        rng = np.random.default_rng(int(key64(self.seed, 0xB0)))
        self.pools = {name: self.nets.sample(kind, rng, size) for name, (kind, size) in SHARED_POOLS.items()}
        # Residential proxy networks also sell IPv6 exits (subscriber /64s of the same ISPs).
        proxy = self.pools["proxy"]
        v6 = np.flatnonzero(rng.random(len(proxy)) < PROXY_V6_SHARE)
        proxy[v6] = self.nets.sample_v6("residential", rng, np.full(len(v6), "ZZ"))

    @property
    def start_us(self) -> int:
        return int(self.start.replace(tzinfo=UTC).timestamp() * 1_000_000)

    @property
    def new_model(self) -> Model | None:
        return next((m for m in self.models if m.new), None)

    def role_index(self, role: str) -> int:
        """Index of the (first) model serving ``role``; the flagship if no model has it."""
        for i, m in enumerate(self.models):
            if m.role == role:
                return i
        if role == "flagship":
            raise KeyError("no flagship model")
        return self.role_index("flagship")


def provider_names(n: int) -> list[str]:
    """``local`` for a single provider, else ``provider-01`` .. ``provider-NN``."""
    return [DEFAULT_PROVIDER] if n == 1 else [f"provider-{i + 1:02d}" for i in range(n)]
