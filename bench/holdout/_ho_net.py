"""Real IP space for the hold-out traffic: cloud feeds, VPN and Tor lists, ISP and university ASNs.

Addresses are drawn from published ranges only (``shared/data/ip_infra``), so whatever the
detector knows about infrastructure is tested against the same public record an attacker
would rent from. Sampling is vectorized: a CIDR block is chosen (weight ~ sqrt(size), so a
few huge blocks do not swallow the draw), then a host offset inside it.
"""

from __future__ import annotations

import csv
import ipaddress
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

#: Residential / mobile eyeball ASNs by declared country (RouteViews numbers, public).
RESIDENTIAL_ASNS: dict[str, tuple[int, ...]] = {
    "US": (7922, 20115, 7018, 701),
    "GB": (2856, 5089),
    "DE": (3320, 3209),
    "FR": (3215, 12322),
    "ES": (3352,),
    "JP": (4713, 17676),
    "KR": (4766,),
    "IN": (55836,),
    "CN": (4134, 4837),
    "BR": (28573,),
    "AU": (1221, 7545),
    "VN": (45899, 7552),
    "PH": (9299,),
}
#: Mobile carriers (CGNAT: one address carries many subscribers).
MOBILE_ASNS: dict[str, tuple[int, ...]] = {"US": (21928, 22394), "CN": (9808,)}
#: University networks used by the edu and research personas.
UNIVERSITY_ASNS: dict[str, int] = {"stanford": 32, "mit": 3, "berkeley": 25, "wisc": 59, "cernet": 4538}


def ipv4_to_str(x: np.ndarray) -> np.ndarray:
    """Dotted quads for uint32 addresses, vectorized with numpy string ops."""
    x = np.asarray(x, dtype=np.uint64)
    parts = [((x >> s) & 255).astype(str) for s in (24, 16, 8, 0)]
    out = parts[0]
    for p in parts[1:]:
        out = np.char.add(np.char.add(out, "."), p)
    return out.astype(object)


@dataclass
class _Blocks:
    start: np.ndarray  # uint64 first address
    size: np.ndarray  # uint64 number of addresses

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        w = np.sqrt(self.size.astype(np.float64))
        idx = rng.choice(self.start.size, size=n, p=w / w.sum())
        size = self.size[idx]
        # Skip network/broadcast addresses of blocks larger than a /31.
        lo = np.where(size > 2, 1, 0).astype(np.uint64)
        span = np.maximum(size - 2 * lo, 1)
        off = (rng.random(n) * span).astype(np.uint64) + lo
        return ipv4_to_str(self.start[idx] + off)


def _from_cidrs(cidrs: list[str]) -> _Blocks:
    nets = [ipaddress.ip_network(c.strip(), strict=False) for c in cidrs if c.strip() and ":" not in c]
    return _Blocks(
        np.array([int(n.network_address) for n in nets], dtype=np.uint64),
        np.array([n.num_addresses for n in nets], dtype=np.uint64),
    )


@dataclass
class Net:
    """Named pools of real address blocks; ``sample(kind, n)`` returns dotted-quad strings."""

    blocks: dict[str, _Blocks] = field(default_factory=dict)
    tor: np.ndarray = field(default_factory=lambda: np.array([], dtype=object))
    relay_v6: list[str] = field(default_factory=list)

    def sample(self, rng: np.random.Generator, kind: str, n: int) -> np.ndarray:
        if kind == "tor":
            return rng.choice(self.tor, size=n)
        return self.blocks[kind].sample(rng, n)

    def relay_ipv6(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """iCloud Private Relay IPv6 egress addresses (random host in a published /64)."""
        nets = [ipaddress.ip_network(c, strict=False) for c in rng.choice(self.relay_v6, size=n)]
        hosts = rng.integers(1, 2**32, size=n)
        return np.array(
            [str(nt.network_address + int(h)) for nt, h in zip(nets, hosts, strict=True)], dtype=object
        )


def load_net(ip_infra: Path) -> Net:
    """Read the public feeds in ``ip_infra`` into sampling pools."""
    d = Path(ip_infra)
    net = Net()
    aws = json.loads((d / "aws-ip-ranges.json").read_text())
    net.blocks["aws"] = _from_cidrs([p["ip_prefix"] for p in aws["prefixes"] if p["service"] == "EC2"])
    gcp = json.loads((d / "google-cloud-ip-ranges.json").read_text())
    net.blocks["gcp"] = _from_cidrs([p["ipv4Prefix"] for p in gcp["prefixes"] if "ipv4Prefix" in p])
    with open(d / "azure_cloud_regional_ranges.csv", newline="") as fh:
        net.blocks["azure"] = _from_cidrs([r["cidr"] for r in csv.DictReader(fh) if r["ip_version"] == "4"])
    providers: dict[str, list[str]] = {}
    for name in ("lordalfred_provider_ranges.csv", "disposable_extra_provider_ranges.csv"):
        with open(d / name, newline="") as fh:
            for r in csv.DictReader(fh):
                providers.setdefault(r["provider"], []).append(r["cidr"])
    for p in ("hetzner", "ovh", "digitalocean", "linode", "vultr", "alibaba", "tencent", "starlink"):
        net.blocks[p] = _from_cidrs(providers[p])
    net.blocks["hosting"] = _from_cidrs(providers["hetzner"] + providers["ovh"] + providers["digitalocean"])
    net.blocks["apple_relay"] = _from_cidrs(providers["apple-proxy"])
    net.relay_v6 = [c for c in providers["apple-proxy"] if ":" in c and c.endswith("/64")]
    net.blocks["protonvpn"] = _from_cidrs(providers["protonvpn"])
    net.blocks["vpn"] = _from_cidrs((d / "x4b_vpn_ipv4.txt").read_text().split())
    tor = [a for a in (d / "tor_exit_nodes.txt").read_text().split() if ":" not in a]
    net.tor = np.array(tor, dtype=object)
    _asn_blocks(d, net)
    return net


def _asn_blocks(d: Path, net: Net) -> None:
    """Residential, mobile and university pools from the IP-to-ASN table."""
    import pyarrow.csv as pacsv

    t = pacsv.read_csv(d / "asn_ipv4_ranges.csv.gz")
    start = t["ip_start_num"].to_numpy().astype(np.uint64)
    end = t["ip_end_num"].to_numpy().astype(np.uint64)
    asn = t["asn"].to_numpy()

    def pool(asns: tuple[int, ...]) -> _Blocks:
        m = np.isin(asn, asns)
        return _Blocks(start[m], end[m] - start[m] + 1)

    for cc, asns in RESIDENTIAL_ASNS.items():
        net.blocks[f"res_{cc}"] = pool(asns)
    for cc, asns in MOBILE_ASNS.items():
        net.blocks[f"mob_{cc}"] = pool(asns)
    for name, a in UNIVERSITY_ASNS.items():
        net.blocks[f"uni_{name}"] = pool((a,))
    allres = tuple(a for v in RESIDENTIAL_ASNS.values() for a in v)
    net.blocks["res_any"] = pool(allres)
