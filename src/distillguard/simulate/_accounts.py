"""Accounts: identity, signup path, country, age, payment, keys, clients, home network.

One :class:`Accounts` holds numpy columns for all accounts of a persona. Personas
customise them after :func:`make_accounts` (shared cards, creation bursts, NATs,
replacement chains) before any event is generated.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from distillguard.simulate._ids import ids_for, key64, mix64
from distillguard.simulate._profile import Profile
from distillguard.simulate._world import UTC_OFFSET, World

#: Home-network kinds that draw from a shared pool of the world rather than fresh addresses.
SHARED_KINDS = ("mobile", "vpn", "tor", "relay", "corporate", "university", "proxy")
#: Addresses per account on each shared kind (inclusive range): rotation breadth.
SHARED_BREADTH: dict[str, tuple[int, int]] = {
    "mobile": (2, 6),
    "vpn": (2, 8),
    "tor": (6, 20),
    "relay": (4, 16),
    "corporate": (1, 2),
    "university": (1, 2),
    "proxy": (40, 400),
}
#: Share of accounts on a home network kind that reach the API over IPv6 (only where their
#: country has v6 prefixes in ``_netranges``). Below the ~45 % of users Google measures over
#: IPv6: API traffic comes from SDKs, scripts and office networks that lag phones and browsers.
V6_ACCOUNT_SHARE: dict[str, float] = {"residential": 0.45, "mobile": 0.6}
#: Share of a v6 account's address slots that are v6 (the rest: dual-stack IPv4 fallback).
V6_ADDRESS_SHARE = 0.8


@dataclass
class Accounts:
    """Columns of a persona's accounts (all numpy arrays of equal length)."""

    key: np.ndarray  # uint64: source of the account id
    tier: np.ndarray  # str
    country: np.ndarray  # str
    tz: np.ndarray  # int: UTC offset + 11 (row of Clock.cdfs)
    created_h: np.ndarray  # float hours relative to scenario start
    lo_h: np.ndarray  # active window start (hours)
    hi_h: np.ndarray  # active window end (hours)
    pay_key: np.ndarray  # uint64: payment instrument (shared key = shared card)
    n_keys: np.ndarray  # int: API keys held
    client: np.ndarray  # (n, 2) int rows of ClientTable
    client_p: np.ndarray  # float: share of requests from the primary client
    net: np.ndarray  # str: home network kind
    ip_off: np.ndarray  # int offsets into ips
    ip_n: np.ndarray  # int addresses per account
    ips: np.ndarray  # uint64 flat address pool (IPv4 value, or IPv6 /64 code; see _netranges)
    temp: np.ndarray  # float (nan = not set by the client)
    stream: np.ndarray  # bool
    provider: np.ndarray  # int index into world.providers
    weight: np.ndarray  # float: relative request volume
    persona: np.ndarray  # str label persona
    campaign: np.ndarray  # object: campaign id or None
    extra: dict[str, np.ndarray] = field(default_factory=dict)
    _arrow: dict[str, pa.Array] = field(default_factory=dict, repr=False)

    def __len__(self) -> int:
        return len(self.key)

    def arrow(self, world: World) -> dict[str, pa.Array]:
        """Per-account string/timestamp columns, built once and ``take``n per event."""
        if not self._arrow:
            from distillguard.schema import TIMESTAMP

            created = world.start_us + np.floor(self.created_h * 3.6e9).astype(np.int64)
            self._arrow = {
                "account_id": self.ids(),
                "account_tier": pa.array(list(self.tier), type=pa.string()),
                "account_country": pa.array(list(self.country), type=pa.string()),
                "payment_fingerprint": ids_for("pm-", key64(world.seed, 0x9A), self.pay_key),
                "account_created_at": pa.array(created, type=pa.int64()).cast(TIMESTAMP),
            }
        return self._arrow

    def ids(self) -> pa.Array:
        """Account ids: ``org-`` + 16 hex digits of the key (no persona leaks into the id)."""
        return ids_for("org-", np.uint64(0), self.key)


def _choice(rng: np.random.Generator, mix: dict[str, float] | object, n: int) -> np.ndarray:
    names = list(mix)  # type: ignore[call-overload]
    p = np.array([mix[k] for k in names], dtype=np.float64)  # type: ignore[index]
    return np.array(names, dtype=object)[rng.choice(len(names), size=n, p=p / p.sum())]


def make_accounts(world: World, profile: Profile, rng: np.random.Generator, n: int, salt: int) -> Accounts:
    """``n`` accounts following ``profile``; ``salt`` keeps keys distinct across personas."""
    base = key64(world.seed, 0xACC7, salt)
    key = mix64(np.arange(n, dtype=np.uint64) ^ base)
    country = _choice(rng, profile.countries, n)
    tz = np.array([UTC_OFFSET.get(c, 0) for c in country]) + 11
    age = rng.lognormal(np.log(profile.age_days[0]), profile.age_days[1], n)
    created_h = -np.minimum(age, 3650.0) * 24.0
    days_h = float(world.days * 24)
    net = _choice(rng, profile.network, n)
    ip_n = np.empty(n, dtype=np.int64)
    lo, hi = profile.ips_per_account
    for kind in np.unique(net):
        sel = net == kind
        a, b = SHARED_BREADTH.get(str(kind), (lo, hi))
        ip_n[sel] = rng.integers(a, b + 1, size=int(sel.sum()))
    ip_off = np.zeros(n, dtype=np.int64)
    np.cumsum(ip_n[:-1], out=ip_off[1:])
    ips = np.empty(int(ip_n.sum()), dtype=np.uint64)
    owner = np.repeat(np.arange(n), ip_n)
    for kind in np.unique(net):
        rows = np.flatnonzero(net[owner] == kind)
        ips[rows] = draw_ips(world, rng, str(kind), country[owner[rows]])
    add_ipv6(world, rng, net, country, owner, ips)
    temps = np.array([np.nan if t is None else t for t in profile.temperatures], dtype=np.float64)
    clients = world.clients.pick(rng, dict(profile.clients), 2 * n).reshape(n, 2)
    return Accounts(
        key=key,
        tier=_choice(rng, profile.tiers, n),
        country=country,
        tz=tz,
        created_h=created_h,
        lo_h=np.zeros(n),
        hi_h=np.full(n, days_h),
        pay_key=mix64(key ^ np.uint64(0x9A7)),
        n_keys=rng.integers(profile.keys[0], profile.keys[1] + 1, size=n),
        client=clients,
        client_p=rng.uniform(0.8, 1.0, n),
        net=net,
        ip_off=ip_off,
        ip_n=ip_n,
        ips=ips,
        temp=temps[rng.integers(0, len(temps), size=n)],
        stream=rng.random(n) < profile.stream,
        provider=(key % np.uint64(len(world.providers))).astype(np.int64),
        weight=rng.lognormal(0.0, profile.volume_sigma, n),
        persona=np.full(n, profile.name, dtype=object),
        campaign=np.full(n, None, dtype=object),
    )


def add_ipv6(
    world: World,
    rng: np.random.Generator,
    net: np.ndarray,
    country: np.ndarray,
    owner: np.ndarray,
    ips: np.ndarray,
) -> None:
    """Move some residential / mobile accounts to IPv6 (in place on ``ips``).

    A v6 account gets its own /64s (no NAT on v6) for most of its address slots; the
    other slots keep the IPv4 address a dual-stack client falls back to.
    """
    n = len(net)
    for kind, share in V6_ACCOUNT_SHARE.items():
        v6_acc = (net == kind) & world.nets.has_v6(kind, country) & (rng.random(n) < share)
        rows = np.flatnonzero(v6_acc[owner] & (rng.random(len(owner)) < V6_ADDRESS_SHARE))
        if len(rows):
            ips[rows] = world.nets.sample_v6(kind, rng, country[owner[rows]])


def draw_ips(world: World, rng: np.random.Generator, kind: str, countries: np.ndarray) -> np.ndarray:
    """Addresses of a home-network ``kind``: shared pools for NAT/egress kinds, fresh otherwise."""
    if kind in SHARED_KINDS:
        pool = world.pools[kind]
        return pool[rng.integers(0, len(pool), size=len(countries))]
    if kind == "residential":
        return world.nets.sample_in_country("residential", rng, countries)
    return world.nets.sample(kind, rng, len(countries))


def set_home_network(
    world: World,
    acc: Accounts,
    rng: np.random.Generator,
    sel: np.ndarray,
    kind: str,
    addrs: np.ndarray | None = None,
) -> None:
    """Re-home the accounts ``sel`` on ``kind`` (optionally exactly on ``addrs``, e.g. one NAT)."""
    sel = np.asarray(sel)
    extra_ips = []
    for i in sel:
        pool = (
            addrs if addrs is not None else draw_ips(world, rng, kind, np.repeat(acc.country[i], acc.ip_n[i]))
        )
        acc.ip_off[i] = len(acc.ips) + sum(len(x) for x in extra_ips)
        acc.ip_n[i] = len(pool)
        extra_ips.append(np.asarray(pool, dtype=np.uint64))
    if extra_ips:
        acc.ips = np.concatenate([acc.ips, *extra_ips])
    acc.net[sel] = kind


def allocate_counts(rng: np.random.Generator, weight: np.ndarray, total: int) -> np.ndarray:
    """Split ``total`` requests over accounts by ``weight``; every account gets at least one."""
    n = len(weight)
    total = max(int(total), n)
    share = weight / weight.sum() * (total - n)
    counts = np.floor(share).astype(np.int64)
    rest = (total - n) - int(counts.sum())
    if rest > 0:
        frac = share - counts
        counts[
            rng.choice(n, size=rest, replace=False, p=frac / frac.sum())
            if frac.sum() > 0
            else np.arange(rest) % n
        ] += 1
    return counts + 1


def splice(acc: Accounts, sel: np.ndarray, other: Accounts) -> None:
    """Overwrite accounts ``sel`` of ``acc`` with the accounts of ``other`` (same length)."""
    for name in (
        "key",
        "tier",
        "country",
        "tz",
        "created_h",
        "pay_key",
        "n_keys",
        "client",
        "client_p",
        "temp",
        "stream",
        "provider",
        "weight",
    ):
        getattr(acc, name)[sel] = getattr(other, name)
    acc.net[sel] = other.net
    acc.ip_off[sel] = other.ip_off + len(acc.ips)
    acc.ip_n[sel] = other.ip_n
    acc.ips = np.concatenate([acc.ips, other.ips])
