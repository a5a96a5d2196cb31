"""Vectorized IP address arithmetic shared by the IP loaders and :class:`IpInfra`.

IPv4 is the hot path (API logs are mostly IPv4 and can hold tens of millions of
rows), so addresses and CIDRs become ``uint32`` numpy arrays with pyarrow string
kernels and no per-row Python. IPv6 addresses are rare in practice and are handled
with :mod:`ipaddress` on unique values only, as Python ints.
"""

from __future__ import annotations

import bisect
import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_HEX6 = re.compile(r"[0-9A-Fa-f:]+")
_IPV4_RE = r"^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$"
_CIDR4_RE = r"^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}(/\d{1,2})?$"


def parse_ipv4(strings: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Dotted-quad strings -> (uint32 values, valid mask); anything else is invalid.

    Surrounding whitespace is tolerated; octets above 255 make the row invalid.
    """
    strings = pc.utf8_trim_whitespace(strings.cast(pa.string()))
    n = len(strings)
    values = np.zeros(n, dtype=np.uint32)
    valid = pc.fill_null(pc.match_substring_regex(strings, _IPV4_RE), False).to_numpy(zero_copy_only=False)
    if not valid.any():
        return values, valid
    good = pc.filter(strings, pa.array(valid))
    parts = pc.list_flatten(pc.split_pattern(good, "."))
    octets = pc.cast(parts, pa.int64()).to_numpy().reshape(-1, 4)
    in_range = (octets <= 255).all(axis=1)
    packed = (octets[:, 0] << 24) | (octets[:, 1] << 16) | (octets[:, 2] << 8) | octets[:, 3]
    idx = np.flatnonzero(valid)
    values[idx] = packed.astype(np.uint32)
    valid[idx[~in_range]] = False
    values[idx[~in_range]] = 0
    return values, valid


def parse_cidr4(strings: pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """IPv4 CIDR strings (``a.b.c.d/len``; bare address = /32) -> (start, end, valid).

    Host bits set in the address are cleared, as :mod:`ipaddress` with
    ``strict=False`` would do, because real feeds contain such entries.
    """
    strings = pc.utf8_trim_whitespace(strings.cast(pa.string()))
    n = len(strings)
    start = np.zeros(n, dtype=np.uint32)
    end = np.zeros(n, dtype=np.uint32)
    valid = pc.fill_null(pc.match_substring_regex(strings, _CIDR4_RE), False).to_numpy(zero_copy_only=False)
    if not valid.any():
        return start, end, valid
    good = pc.filter(strings, pa.array(valid))
    addr = pc.replace_substring_regex(good, r"/\d+$", "")
    found = pc.extract_regex(good, r"/(?P<p>\d+)$")
    plen_col = pc.cast(pc.struct_field(found, "p"), pa.int64())
    plen = pc.fill_null(pc.if_else(found.is_valid(), plen_col, None), 32).to_numpy()
    ips, ok = parse_ipv4(addr)
    ok &= plen <= 32
    host_bits = (np.uint64(1) << (32 - np.minimum(plen, 32)).astype(np.uint64)) - np.uint64(1)
    lo = ips.astype(np.uint64) & ~host_bits & np.uint64(0xFFFFFFFF)
    hi = lo | host_bits
    idx = np.flatnonzero(valid)
    start[idx] = lo.astype(np.uint32)
    end[idx] = hi.astype(np.uint32)
    valid[idx[~ok]] = False
    return start, end, valid


def ipv4_to_strings(values: np.ndarray) -> pa.Array:
    """uint32 values -> dotted-quad strings (vectorized)."""
    v = values.astype(np.uint32)
    octs = [pa.array((v >> s) & 0xFF).cast(pa.string()) for s in (24, 16, 8, 0)]
    return pc.binary_join_element_wise(*octs, ".")


def prefix24_strings(values: np.ndarray) -> pa.Array:
    """uint32 addresses -> their ``a.b.c.0/24`` network strings (vectorized)."""
    v = values.astype(np.uint32)
    octs = [pa.array((v >> s) & 0xFF).cast(pa.string()) for s in (24, 16, 8)]
    return pc.binary_join_element_wise(*octs, pa.scalar("0/24"), ".")


@dataclass(frozen=True)
class IntervalSet:
    """Sorted, disjoint, inclusive integer intervals; membership by binary search."""

    starts: np.ndarray
    ends: np.ndarray

    @classmethod
    def build(cls, starts: np.ndarray, ends: np.ndarray) -> IntervalSet:
        """Merge overlapping or adjacent intervals so lookups are one ``searchsorted``."""
        if len(starts) == 0:
            return cls(np.zeros(0, np.uint64), np.zeros(0, np.uint64))
        s = np.asarray(starts, dtype=np.uint64)
        e = np.asarray(ends, dtype=np.uint64)
        order = np.argsort(s, kind="stable")
        s, e = s[order], e[order]
        run_end = np.maximum.accumulate(e)
        # A new merged block starts where this start is beyond every earlier end + 1.
        new_block = np.ones(len(s), dtype=bool)
        new_block[1:] = s[1:] > run_end[:-1] + np.uint64(1)
        block = np.cumsum(new_block) - 1
        merged_starts = s[new_block]
        merged_ends = np.zeros(len(merged_starts), dtype=np.uint64)
        np.maximum.at(merged_ends, block, e)
        return cls(merged_starts, merged_ends)

    def __len__(self) -> int:
        return len(self.starts)

    def contains(self, values: np.ndarray) -> np.ndarray:
        """Boolean mask: which ``values`` fall inside some interval."""
        if len(self.starts) == 0:
            return np.zeros(len(values), dtype=bool)
        v = np.asarray(values, dtype=np.uint64)
        idx = np.searchsorted(self.starts, v, side="right") - 1
        safe = np.clip(idx, 0, None)
        return (idx >= 0) & (v <= self.ends[safe])


@dataclass(frozen=True)
class LabelledRanges:
    """Inclusive IPv4 ranges carrying a value (ASN, country); the greatest start <= ip wins.

    Meant for non-overlapping tables (IP-to-ASN dumps, relay egress lists); with
    nested ranges the later-starting one wins while it covers the address.
    """

    starts: np.ndarray
    ends: np.ndarray
    values: np.ndarray

    @classmethod
    def build(cls, starts: np.ndarray, ends: np.ndarray, values: np.ndarray) -> LabelledRanges:
        order = np.argsort(np.asarray(starts, dtype=np.uint64), kind="stable")
        return cls(
            np.asarray(starts, dtype=np.uint64)[order],
            np.asarray(ends, dtype=np.uint64)[order],
            np.asarray(values)[order],
        )

    @classmethod
    def concat(cls, parts: Iterable[LabelledRanges]) -> LabelledRanges:
        parts = [p for p in parts if len(p.starts)]
        if not parts:
            return cls(np.zeros(0, np.uint64), np.zeros(0, np.uint64), np.zeros(0, np.int64))
        return cls.build(
            np.concatenate([p.starts for p in parts]),
            np.concatenate([p.ends for p in parts]),
            np.concatenate([p.values for p in parts]),
        )

    def lookup(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(index into ``self.values``, found mask) for each address."""
        v = np.asarray(values, dtype=np.uint64)
        if len(self.starts) == 0:
            return np.zeros(len(v), dtype=np.int64), np.zeros(len(v), dtype=bool)
        idx = np.searchsorted(self.starts, v, side="right") - 1
        safe = np.clip(idx, 0, None)
        found = (idx >= 0) & (v <= self.ends[safe])
        return safe, found


class IntervalSet6:
    """IPv6 intervals as Python ints (few lookups: unique IPv6 addresses only)."""

    def __init__(self, intervals: Iterable[tuple[int, int]]) -> None:
        merged: list[list[int]] = []
        for lo, hi in sorted(intervals):
            if merged and lo <= merged[-1][1] + 1:
                merged[-1][1] = max(merged[-1][1], hi)
            else:
                merged.append([lo, hi])
        self._starts = [m[0] for m in merged]
        self._ends = [m[1] for m in merged]

    def __len__(self) -> int:
        return len(self._starts)

    def contains(self, value: int) -> bool:
        i = bisect.bisect_right(self._starts, value) - 1
        return i >= 0 and value <= self._ends[i]


def cidr6_bounds(text: str) -> tuple[int, int] | None:
    """An IPv6 CIDR (or address) -> inclusive int bounds (host bits cleared); None when not IPv6.

    Plain hex groups are parsed by hand, anything else (embedded IPv4, zone ids, bad
    input) by :mod:`ipaddress`. Why: feeds hold tens of thousands of IPv6 prefixes
    (cloud ranges, Apple's relay egress list) and ``ipaddress.ip_network`` took 3.1 s
    for 27,485 of them on this busy 2-core machine, the hand parser 0.6 s, same results
    (tests/enrich/test_ip_package.py).
    """
    addr, _, plen = text.strip().partition("/")
    try:
        bits = 128 - int(plen or 128)
        if not _HEX6.fullmatch(addr):  # dots (embedded IPv4), zone ids, "_" int() would take
            raise ValueError
        if "::" in addr:
            head, tail = addr.split("::")
            left = head.split(":") if head else []
            right = tail.split(":") if tail else []
            groups = [*left, *(["0"] * (8 - len(left) - len(right))), *right]
        else:
            groups = addr.split(":")
        if len(groups) != 8 or not all(0 < len(g) <= 4 for g in groups):
            raise ValueError
        value = int("".join(g.zfill(4) for g in groups), 16)
    except ValueError:
        try:
            net = ipaddress.ip_network(text.strip(), strict=False)
        except ValueError:
            return None
        if net.version != 6:
            return None
        return int(net.network_address), int(net.broadcast_address)
    if not 0 <= bits <= 128:
        return None
    lo = value >> bits << bits
    return lo, lo | ((1 << bits) - 1)
