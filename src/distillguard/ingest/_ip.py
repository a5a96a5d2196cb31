"""Vectorized IPv4/IPv6 address validation (one RE2 pass over the column).

The IPv6 pattern is built from the RFC 3986 ``IPv6address`` grammar (all nine
``::`` placements, embedded IPv4 in the last 32 bits), so it accepts exactly what
Python's :mod:`ipaddress` accepts, minus zone ids (``fe80::1%eth0``): a request's
source address as seen by a server has no zone. IPv4 octets with leading zeros are
rejected, as :mod:`ipaddress` does, because ``010`` is octal to some parsers.
The test suite checks the pattern against :mod:`ipaddress` with hypothesis.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

_OCTET = r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4 = rf"{_OCTET}\.{_OCTET}\.{_OCTET}\.{_OCTET}"
_H16 = r"[0-9A-Fa-f]{1,4}"
_LS32 = rf"({_H16}:{_H16}|{_IPV4})"


def _head(max_groups: int) -> str:
    """``[ *N( h16 ":" ) h16 ]`` of the RFC grammar: up to ``max_groups + 1`` groups."""
    if max_groups < 0:
        return ""
    return rf"(({_H16}:){{0,{max_groups}}}{_H16})?"


_IPV6_ALTERNATIVES = (
    rf"({_H16}:){{6}}{_LS32}",
    rf"::({_H16}:){{5}}{_LS32}",
    rf"{_head(0)}::({_H16}:){{4}}{_LS32}",
    rf"{_head(1)}::({_H16}:){{3}}{_LS32}",
    rf"{_head(2)}::({_H16}:){{2}}{_LS32}",
    rf"{_head(3)}::{_H16}:{_LS32}",
    rf"{_head(4)}::{_LS32}",
    rf"{_head(5)}::{_H16}",
    rf"{_head(6)}::",
)
_IPV6 = "(" + "|".join(f"({alt})" for alt in _IPV6_ALTERNATIVES) + ")"

IP_PATTERN = rf"^({_IPV4}|{_IPV6})$"


def valid_ip_mask(ips: pa.Array) -> pa.Array:
    """True where the (non-null) string is an IPv4 or IPv6 address; null stays null."""
    return pc.match_substring_regex(ips, IP_PATTERN)
