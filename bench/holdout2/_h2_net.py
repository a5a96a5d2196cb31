"""Real IP space: residential and mobile ISPs (by ASN), universities, clouds, hosting,
commercial VPNs, Cloudflare WARP and iCloud Private Relay; IPv4 and IPv6.

IPv4 ranges come from ``ip_infra/asn_ipv4_ranges.csv.gz`` (RouteViews/DB-IP/NRO) for the
ASNs listed below, and from the clouds' own feeds. The ASN file has no IPv6, so IPv6
prefixes are the ISPs' published allocations, written here (one line each, cited).
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

#: Fixed-line consumer ISPs by country (ASN numbers from ``asn_names.csv``).
RESIDENTIAL_ASNS: dict[str, tuple[int, ...]] = {
    "US": (7922, 20115, 7018, 701, 22773),  # Comcast, Charter, AT&T, Verizon, Cox
    "DE": (3320, 3209, 6805),  # Deutsche Telekom, Vodafone DE, Telefonica DE
    "GB": (2856, 5089, 13285),  # BT, Virgin Media, TalkTalk
    "FR": (3215, 12322),  # Orange, Free
    "ES": (3352,),
    "IT": (3269,),
    "NL": (1136,),
    "JP": (2516, 4713, 17676),  # KDDI, NTT, SoftBank
    "IN": (55836, 45609),  # Jio, Airtel
    "VN": (7552, 45899),
    "CA": (812, 577, 6327),
    "AU": (1221,),
    "KR": (4766,),
    "TW": (3462,),
    "CN": (4134, 4837),
    "RU": (12389,),
    "BR": (28573, 18881),
    "MX": (8151,),
    "TR": (9121,),
    "PH": (9299,),
    "NO": (2119,),
    "BE": (5432,),
}
#: Mobile carriers (shared CGNAT egress for many subscribers).
MOBILE_ASNS: dict[str, tuple[int, ...]] = {
    "US": (21928, 22394, 20057),  # T-Mobile US, Verizon Wireless, AT&T Mobility
    "IN": (55836,),
    "ID": (23693,),  # Telkomsel
    "PH": (9299,),
}
UNIVERSITY_ASNS = (32, 3, 17, 111)  # Stanford, MIT, Purdue, Boston University
HOSTING_ASNS = (24940, 16276, 14061, 20473)  # Hetzner, OVH, DigitalOcean, Vultr
#: Cloudflare WARP consumer egress (Cloudflare's documented WARP ranges).
WARP_V4 = ("104.28.0.0/16",)
WARP_V6 = ("2a09:bac0::/29",)
#: Published IPv6 allocations of large residential / mobile ISPs.
RESIDENTIAL_V6: dict[str, tuple[str, ...]] = {
    "US": ("2601::/20", "2600:6c00::/24"),  # Comcast, Charter
    "DE": ("2003::/19",),  # Deutsche Telekom
    "FR": ("2a01:cb00::/24", "2a01:e00::/26"),  # Orange, Free
    "IN": ("2409:4000::/22",),  # Jio
}
MOBILE_V6 = ("2607:fb90::/32", "2600:1000::/28")  # T-Mobile US, Verizon Wireless
#: RFC 6598 shared address space: what a carrier-partner gateway sees from CGNAT users.
CGNAT_V4 = ("100.64.0.0/10",)

HEX16 = np.array([f"{i:x}" for i in range(65536)], dtype=object)


@dataclass
class V4Pool:
    start: np.ndarray  # uint64 first address of each range
    size: np.ndarray  # addresses in each range
    country: np.ndarray  # object, per range (may be "")

    def sample(self, rng: np.random.Generator, n: int, country: np.ndarray | None = None) -> np.ndarray:
        """``n`` addresses (uint64), ranges weighted by size; optionally within ``country``."""
        w = self.size.astype(float)
        if country is None:
            r = rng.choice(len(self.start), size=n, p=w / w.sum())
            return self.start[r] + (rng.random(n) * self.size[r]).astype(np.uint64)
        out = np.zeros(n, dtype=np.uint64)
        for c in np.unique(country):
            sel = country == c
            ok = self.country == c
            if not ok.any():
                ok = np.ones(len(self.start), dtype=bool)
            idx = np.flatnonzero(ok)
            r = idx[rng.choice(len(idx), size=int(sel.sum()), p=w[idx] / w[idx].sum())]
            out[sel] = self.start[r] + (rng.random(int(sel.sum())) * self.size[r]).astype(np.uint64)
        return out


def _cidr_pool(cidrs: list[str], country: str = "") -> V4Pool:
    nets = [ipaddress.ip_network(c, strict=False) for c in cidrs]
    nets = [n for n in nets if n.version == 4 and n.prefixlen <= 30]
    return V4Pool(
        np.array([int(n.network_address) for n in nets], dtype=np.uint64),
        np.array([n.num_addresses for n in nets], dtype=np.uint64),
        np.full(len(nets), country, dtype=object),
    )


def fmt_v4(ips: np.ndarray) -> pa.Array:
    """Dotted quads for uint addresses (vectorized through Arrow)."""
    ips = np.asarray(ips, dtype=np.uint64)
    parts = [pa.array(((ips >> np.uint64(s)) & np.uint64(255)).astype(np.int64)) for s in (24, 16, 8, 0)]
    return pc.binary_join_element_wise(*[pc.cast(p, pa.string()) for p in parts], ".")


def v6_hextets(
    rng: np.random.Generator, prefixes: tuple[str, ...], n: int, pick: np.ndarray | None = None
) -> np.ndarray:
    """``(n, 8)`` uint16 hextets: a random address inside one of ``prefixes``."""
    nets = [ipaddress.ip_network(p) for p in prefixes]
    which = rng.integers(len(nets), size=n) if pick is None else pick % len(nets)
    out = rng.integers(0, 65536, size=(n, 8), dtype=np.uint32)
    for k, net in enumerate(nets):
        sel = which == k
        base = np.array(
            [(int(net.network_address) >> (16 * (7 - i))) & 0xFFFF for i in range(8)], dtype=np.uint32
        )
        for i in range(8):
            fixed_bits = min(16, max(0, net.prefixlen - 16 * i))
            mask = ((0xFFFF << (16 - fixed_bits)) & 0xFFFF) if fixed_bits else 0
            out[sel, i] = (base[i] & mask) | (out[sel, i] & (~mask & 0xFFFF))
    return out.astype(np.uint16)


def fmt_v6(hextets: np.ndarray) -> pa.Array:
    cols = [pa.array(HEX16[hextets[:, i].astype(np.int64)], pa.string()) for i in range(8)]
    return pc.binary_join_element_wise(*cols, ":")


@dataclass
class Net:
    residential: V4Pool
    mobile: V4Pool
    university: V4Pool
    aws: V4Pool
    gcp: V4Pool
    azure: V4Pool
    hosting: V4Pool
    vpn: V4Pool
    apple: V4Pool
    warp: V4Pool
    cgnat: V4Pool
    apple_v6: tuple[str, ...]

    @classmethod
    def load(cls, data: Path) -> Net:
        import pyarrow.csv as pacsv

        ip = data / "ip_infra"
        asn = pacsv.read_csv(ip / "asn_ipv4_ranges.csv.gz")
        start = asn["ip_start_num"].to_numpy().astype(np.uint64)
        end = asn["ip_end_num"].to_numpy().astype(np.uint64)
        num = asn["asn"].to_numpy()

        def by_asn(table: dict[str, tuple[int, ...]]) -> V4Pool:
            starts, sizes, countries = [], [], []
            for c, asns in table.items():
                sel = np.isin(num, np.array(asns))
                starts.append(start[sel])
                sizes.append(end[sel] - start[sel] + np.uint64(1))
                countries.append(np.full(int(sel.sum()), c, dtype=object))
            return V4Pool(np.concatenate(starts), np.concatenate(sizes), np.concatenate(countries))

        aws = json.loads((ip / "aws-ip-ranges.json").read_text())
        gcp = json.loads((ip / "google-cloud-ip-ranges.json").read_text())
        az = pacsv.read_csv(ip / "azure_cloud_regional_ranges.csv").to_pydict()
        la = pacsv.read_csv(ip / "lordalfred_provider_ranges.csv").to_pydict()
        apple4 = [
            c
            for p, v, c in zip(la["provider"], la["ip_version"], la["cidr"], strict=True)
            if p == "apple-proxy" and v == 4
        ]
        apple6 = tuple(
            c
            for p, v, c in zip(la["provider"], la["ip_version"], la["cidr"], strict=True)
            if p == "apple-proxy" and v == 6
        )
        vpn = [ln.split("#")[0].strip() for ln in (ip / "x4b_vpn_ipv4.txt").read_text().splitlines()]
        return cls(
            residential=by_asn(RESIDENTIAL_ASNS),
            mobile=by_asn(MOBILE_ASNS),
            university=by_asn({"US": UNIVERSITY_ASNS}),
            aws=_cidr_pool([p["ip_prefix"] for p in aws["prefixes"] if p["service"] == "EC2"], "US"),
            gcp=_cidr_pool([p["ipv4Prefix"] for p in gcp["prefixes"] if "ipv4Prefix" in p], "US"),
            azure=_cidr_pool([c for c, v in zip(az["cidr"], az["ip_version"], strict=True) if v == 4], "US"),
            hosting=by_asn({"DE": (24940,), "FR": (16276,), "US": (14061, 20473)}),
            vpn=_cidr_pool([c for c in vpn if c]),
            apple=_cidr_pool(apple4),
            warp=_cidr_pool(list(WARP_V4)),
            cgnat=_cidr_pool(list(CGNAT_V4)),
            apple_v6=apple6[:2000],
        )
