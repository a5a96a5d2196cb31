"""Client addresses: IPv6 clients exist where they should, and enrichment agrees on kinds."""

from __future__ import annotations

import ipaddress
from collections import Counter
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from distillguard.simulate._ids import ip_strings
from distillguard.simulate._netranges import ENRICH_KINDS, KINDS, NetRanges


def test_ipv6_clients_in_benign_and_attack_personas(tiny_events: pl.DataFrame) -> None:
    v6 = tiny_events.filter(pl.col("client_ip").str.contains(":"))
    share = v6.height / tiny_events.height
    assert 0.02 < share < 0.4
    assert v6.filter(pl.col("is_attack")).height > 0 and v6.filter(~pl.col("is_attack")).height > 0
    # Only home networks (and residential proxies) are v6: never clouds, NATs or relays.
    nets = [ipaddress.IPv6Network(f"{ip}/32", strict=False) for ip in v6["client_ip"].unique().to_list()]
    assert all(n.network_address.packed[0] >> 5 == 1 for n in nets)  # global unicast 2000::/3
    uni = tiny_events.filter(pl.col("persona") == "benign_university_class")
    assert not uni["client_ip"].str.contains(":").any()


def test_ipv6_interface_ids_rotate_daily_within_the_subscriber_prefix() -> None:
    code = np.full(3, np.uint64(0x2601_0F84_97B9_9A10))
    text = ip_strings(code, code ^ np.array([1, 1, 2], dtype=np.uint64)).to_pylist()
    assert text[0] == text[1] != text[2]
    assert {str(ipaddress.IPv6Network(f"{t}/64", strict=False)) for t in text} == {"2601:f84:97b9:9a10::/64"}


def test_ipv6_text_is_canonical_even_with_zero_runs() -> None:
    hi = np.array([0x2003_0000_0000_0001, 0x2001_8000_0000_0000], dtype=np.uint64)
    text = ip_strings(hi, np.zeros(2, dtype=np.uint64)).to_pylist()
    assert all(str(ipaddress.IPv6Address(t)) == t for t in text)


def test_builtin_ranges_are_classified_alike_by_enrichment() -> None:
    from distillguard.enrich.ip_infra import IpInfra

    rng = np.random.default_rng(1)
    nets, infra = NetRanges.builtin(), IpInfra.builtin()
    for kind in KINDS:
        codes = nets.sample(kind, rng, 2000)
        got = Counter(infra.annotate(ip_strings(codes, codes)).column("ip_kind").to_pylist())
        if kind in ENRICH_KINDS:
            assert got == {kind: 2000}, kind
        else:  # enrichment has no prefix for these kinds: never a misleading label
            assert not set(got) & {"hosting", "relay", "vpn", "tor", "private"}, (kind, got)


def test_corpus_ranges_are_classified_alike_by_corpus_enrichment(shared_data: Path) -> None:
    from distillguard.enrich.ip_infra import IpInfra

    rng = np.random.default_rng(2)
    nets = NetRanges.from_corpus(shared_data)
    infra = IpInfra.from_dir(shared_data / "ip_infra")
    expect = {"hosting": 0.99, "vpn": 0.8, "tor": 0.99, "relay": 0.99, "residential": 0.85}
    for kind, floor in expect.items():
        codes = nets.sample(kind, rng, 2000)
        kinds = infra.annotate(ip_strings(codes, codes)).column("ip_kind").to_pylist()
        assert Counter(kinds)[kind] / len(kinds) >= floor, (kind, Counter(kinds).most_common(3))


@pytest.mark.parametrize("kind", ["residential", "mobile"])
def test_v6_prefixes_follow_the_country(kind: str) -> None:
    nets = NetRanges.builtin()
    codes = nets.sample_v6(kind, np.random.default_rng(3), np.array(["DE"] * 50))
    table = nets.v6[kind]
    rows = zip(table.base, table.size, table.country, strict=True)
    de = [(int(b), int(b + s)) for b, s, c in rows if c == "DE"]
    assert all(any(lo <= int(c) < hi for lo, hi in de) for c in codes)
