"""MaxMind-format (``.mmdb``) lookups, through the optional ``maxminddb`` package.

``maxminddb`` is the optional ``geo`` extra (``pip install 'distillguard[geo]'``); it is
imported only when a user passes an ``.mmdb`` file, with a one-line error naming the
extra if it is missing. Records from the
common database families are understood: GeoLite2/GeoIP2 ASN, Country and City,
Anonymous-IP, Connection-Type, and IPinfo's free ``country_asn`` layout.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from distillguard.errors import DistillguardError, UnreadableInputError


def open_readers(paths: Sequence[Path]) -> list[Any]:
    """Open each database; a clear error when ``maxminddb`` is not installed."""
    if not paths:
        return []
    try:
        import maxminddb
    except ModuleNotFoundError as err:
        raise DistillguardError(
            f"{paths[0]}: reading .mmdb files needs the 'maxminddb' package: "
            "pip install 'distillguard[geo]' (or pip install maxminddb)"
        ) from err
    readers = []
    for path in paths:
        try:
            readers.append(maxminddb.open_database(str(path)))
        except (OSError, ValueError) as err:
            raise UnreadableInputError(path, f"not a MaxMind database ({err})") from err
    return readers


def record_fields(record: dict[str, Any] | None) -> tuple[int | None, str | None, str | None, str | None]:
    """One database record -> (asn, as_org, country ISO code, ip_kind or None).

    Kinds: Tor exit -> ``tor``; anonymous VPN or public proxy -> ``vpn``;
    residential proxy -> ``relay`` (it forwards through real users' lines);
    hosting provider -> ``hosting``; connection type ``Cellular`` -> ``mobile``.
    """
    if not record:
        return None, None, None, None
    asn: int | None = None
    raw_asn = record.get("autonomous_system_number", record.get("asn"))
    if isinstance(raw_asn, int):
        asn = raw_asn
    elif isinstance(raw_asn, str) and raw_asn.upper().removeprefix("AS").isdigit():
        asn = int(raw_asn.upper().removeprefix("AS"))
    org = record.get("autonomous_system_organization") or record.get("as_name") or record.get("isp")
    country = record.get("country")
    if isinstance(country, dict):
        country = country.get("iso_code")
    if not isinstance(country, str):
        country = record.get("country_code") if isinstance(record.get("country_code"), str) else None
    kind = None
    if record.get("is_tor_exit_node"):
        kind = "tor"
    elif record.get("is_residential_proxy"):
        kind = "relay"
    elif record.get("is_anonymous_vpn") or record.get("is_public_proxy"):
        kind = "vpn"
    elif record.get("is_hosting_provider"):
        kind = "hosting"
    elif str(record.get("connection_type", "")).lower() == "cellular":
        kind = "mobile"
    return asn, (str(org) if org else None), (country.upper() if country else None), kind


def lookup(
    readers: Sequence[Any], ips: Sequence[str]
) -> list[tuple[int | None, str | None, str | None, str | None]]:
    """Merged fields per address over all databases (the first non-null value wins)."""
    out = []
    for ip in ips:
        merged: list[Any] = [None, None, None, None]
        for reader in readers:
            try:
                rec = reader.get(ip)
            except ValueError:
                rec = None
            for i, value in enumerate(record_fields(rec)):
                if merged[i] is None:
                    merged[i] = value
        out.append(tuple(merged))
    return out
