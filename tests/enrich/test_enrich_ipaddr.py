"""Vectorized IPv4/CIDR arithmetic against the standard library's ipaddress."""

from __future__ import annotations

import ipaddress

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from distillguard.enrich._ipaddr import (
    IntervalSet,
    IntervalSet6,
    LabelledRanges,
    ipv4_to_strings,
    parse_cidr4,
    parse_ipv4,
    prefix24_strings,
)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(0, 2**32 - 1), min_size=1, max_size=50))
def test_parse_ipv4_roundtrips_with_stdlib(values: list[int]) -> None:
    texts = [str(ipaddress.IPv4Address(v)) for v in values]
    parsed, ok = parse_ipv4(pa.array(texts))
    assert ok.all()
    assert parsed.tolist() == values
    assert ipv4_to_strings(parsed).to_pylist() == texts
    assert prefix24_strings(parsed).to_pylist() == [
        str(ipaddress.IPv4Network((v >> 8 << 8, 24))) for v in values
    ]


def test_parse_ipv4_rejects_bad_values() -> None:
    _, ok = parse_ipv4(pa.array(["1.2.3.4", "256.0.0.1", "1.2.3", "a.b.c.d", None, "::1", " 9.9.9.9 "]))
    assert ok.tolist() == [True, False, False, False, False, False, True]


@settings(max_examples=50, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(0, 32))
def test_parse_cidr4_matches_stdlib_non_strict(addr: int, plen: int) -> None:
    text = f"{ipaddress.IPv4Address(addr)}/{plen}"
    net = ipaddress.IPv4Network(text, strict=False)
    start, end, ok = parse_cidr4(pa.array([text]))
    assert ok[0]
    assert (int(start[0]), int(end[0])) == (int(net.network_address), int(net.broadcast_address))


def test_parse_cidr4_bare_address_is_host_and_bad_lengths_fail() -> None:
    start, end, ok = parse_cidr4(pa.array(["8.8.8.8", "1.0.0.0/33", "10.0.0.0/8"]))
    assert ok.tolist() == [True, False, True]
    assert start[0] == end[0] == int(ipaddress.IPv4Address("8.8.8.8"))


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 1000), st.integers(0, 50)), min_size=1, max_size=30),
    st.lists(st.integers(0, 1100), min_size=1, max_size=50),
)
def test_interval_set_membership_matches_brute_force(spans: list[tuple[int, int]], probes: list[int]) -> None:
    starts = np.array([s for s, _ in spans])
    ends = starts + np.array([w for _, w in spans])
    got = IntervalSet.build(starts, ends).contains(np.array(probes))
    want = [any(s <= p <= e for s, e in zip(starts, ends, strict=True)) for p in probes]
    assert got.tolist() == want
    six = IntervalSet6(zip(starts.tolist(), ends.tolist(), strict=True))
    assert [six.contains(p) for p in probes] == want


def test_labelled_ranges_lookup() -> None:
    table = LabelledRanges.build(np.array([100, 10]), np.array([199, 19]), np.array([2, 1]))
    pos, found = table.lookup(np.array([5, 10, 19, 20, 150, 200]))
    assert found.tolist() == [False, True, True, False, True, False]
    assert table.values[pos[found]].tolist() == [1, 1, 2]
