"""``distillguard infra refresh``: download the public IP feeds into the cache a scan reads by default.

Why: the real feeds (cloud ranges, a datacenter ASN list, IP-to-ASN, VPN / Tor /
relay egress) change weekly and are too large or too volatile to embed, and their
licences differ; a documented command that fetches each from its publisher keeps
a fresh install one command away from the detection quality measured with
``--infra``, and lets an operator see what was fetched, from where and under which
terms (the manifest ``distillguard-infra-manifest.json`` in the cache).

Each download is checked by parsing it with the same loader a scan uses before it
replaces the previous copy (written to a temporary name, then renamed), so a failed
or truncated download never leaves the cache worse than it was. A source that fails
is reported and its previous file (if any) stays in use.

``mirror`` fetches every file by its cache name from one base URL instead (an
internal mirror of a cache another machine refreshed), for hosts without Internet
access.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import io
import json
import os
import re
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from distillguard.enrich._infra_cache import MANIFEST_NAME, MANIFEST_VERSION, read_manifest
from distillguard.enrich._ip_sources import InfraParts, load_path
from distillguard.errors import DistillguardError

#: Seconds to wait for a server before a source counts as failed.
DEFAULT_TIMEOUT_S = 60.0
#: Largest body accepted from one URL (the IP-to-ASN tarball is about 19 MB).
MAX_BYTES = 256 * 1024 * 1024
_USER_AGENT = "distillguard-infra-refresh/1"


@dataclass(frozen=True)
class FeedSource:
    """One public feed: where it is published, under which terms, and its cache file name.

    ``how``: ``file`` (GET ``url``), ``azure-page`` (GET the download page at ``url``,
    then the ``ServiceTags_Public_*.json`` it links to), ``npm`` (``url`` is the
    registry document of the package's latest version; its ``dist.tarball`` is fetched
    and ``member`` extracted).
    """

    name: str
    url: str
    file: str
    licence: str
    what: str
    how: str = "file"
    member: str = ""
    gzip: bool = False


#: The feeds fetched by default, in the order they are fetched. File names are chosen so
#: the loaders in ``_ip_sources`` recognise each one (by content or by a kind word).
SOURCES: tuple[FeedSource, ...] = (
    FeedSource(
        "aws",
        "https://ip-ranges.amazonaws.com/ip-ranges.json",
        "aws-ip-ranges.json",
        "published by AWS for customers' firewalls; no licence stated",
        "AWS IPv4/IPv6 prefixes (hosting)",
    ),
    FeedSource(
        "google-cloud",
        "https://www.gstatic.com/ipranges/cloud.json",
        "google-cloud.json",
        "published by Google for customers' firewalls; no licence stated",
        "Google Cloud customer prefixes (hosting)",
    ),
    FeedSource(
        "oracle-cloud",
        "https://docs.oracle.com/en-us/iaas/tools/public_ip_ranges.json",
        "oracle-public-ip-ranges.json",
        "published by Oracle for customers' firewalls; no licence stated",
        "Oracle Cloud prefixes (hosting)",
    ),
    FeedSource(
        "azure",
        "https://www.microsoft.com/en-us/download/details.aspx?id=56519",
        "azure-service-tags.json",
        "published by Microsoft (Service Tags, weekly) for firewalls; no licence stated",
        "Azure Service Tags, public cloud (hosting)",
        how="azure-page",
    ),
    FeedSource(
        "x4b-datacenter-asns",
        "https://raw.githubusercontent.com/X4BNet/lists_vpn/main/input/datacenter/ASN.txt",
        "x4b-datacenter-asns.txt",
        "MIT (X4BNet/lists_vpn)",
        "curated datacenter / hosting ASNs (hosting, needs IP-to-ASN)",
    ),
    FeedSource(
        "x4b-datacenter-ipv4",
        "https://raw.githubusercontent.com/X4BNet/lists_vpn/main/output/datacenter/ipv4.txt",
        "x4b-datacenter-ipv4.txt",
        "MIT (X4BNet/lists_vpn)",
        "datacenter IPv4 CIDRs built from that ASN list (hosting)",
    ),
    FeedSource(
        "x4b-vpn-asns",
        "https://raw.githubusercontent.com/X4BNet/lists_vpn/main/input/vpn/ASN.txt",
        "x4b-vpn-asns.txt",
        "MIT (X4BNet/lists_vpn)",
        "VPN-operator ASNs (vpn, needs IP-to-ASN)",
    ),
    FeedSource(
        "x4b-vpn-ipv4",
        "https://raw.githubusercontent.com/X4BNet/lists_vpn/main/output/vpn/ipv4.txt",
        "x4b-vpn-ipv4.txt",
        "MIT (X4BNet/lists_vpn)",
        "commercial VPN exit IPv4 CIDRs (vpn)",
    ),
    FeedSource(
        "tor-exits",
        "https://check.torproject.org/torbulkexitlist",
        "tor-exit-addresses.txt",
        "published by the Tor Project; no licence stated",
        "current Tor exit addresses (tor)",
    ),
    FeedSource(
        "icloud-private-relay",
        "https://mask-api.icloud.com/egress-ip-ranges.csv",
        "icloud-private-relay-egress.csv.gz",
        "published by Apple for server operators (geolocation of relay egress); no licence stated",
        "iCloud Private Relay egress prefixes with country (relay)",
        gzip=True,
    ),
    FeedSource(
        "ip-to-asn",
        "https://registry.npmjs.org/@ip-location-db/asn/latest",
        "ip-location-db-asn-ipv4.csv.gz",
        "CC BY 4.0: attribute RouteViews (routeviews.org), DB-IP (db-ip.com) and NRO (nro.net)",
        "IPv4 -> ASN and AS organisation (npm @ip-location-db/asn, asn-ipv4-num.csv)",
        how="npm",
        member="package/asn-ipv4-num.csv",
        gzip=True,
    ),
)

#: What a failing source raises (network, HTTP status, bad archive, unrecognised content).
_FETCH_ERRORS = (OSError, ValueError, KeyError, tarfile.TarError, urllib.error.URLError, DistillguardError)

_AZURE_LINK = re.compile(r"""[^\s"'<>]*ServiceTags_Public_\d+\.json""")


def source_names() -> list[str]:
    """Names accepted by ``--source``."""
    return [s.name for s in SOURCES]


def _get(url: str, timeout: float) -> bytes:
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise ValueError(f"not an http(s) URL: {url}")
    req = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT})
    with urllib.request.urlopen(req, timeout=timeout) as resp:  # the scheme is checked above
        body = resp.read(MAX_BYTES + 1)
    if len(body) > MAX_BYTES:
        raise ValueError(f"{url}: more than {MAX_BYTES:,} bytes")
    return body


def _fetch(src: FeedSource, timeout: float) -> tuple[bytes, str]:
    """The feed's body (uncompressed) and the URL it finally came from."""
    if src.how == "file":
        return _get(src.url, timeout), src.url
    if src.how == "azure-page":
        # the link may sit in the page's script data with JSON-escaped slashes
        page = _get(src.url, timeout).decode("utf-8", errors="replace").replace("\\/", "/")
        match = _AZURE_LINK.search(page)
        if match is None:
            raise ValueError(f"no ServiceTags_Public_*.json link on {src.url}")
        url = urllib.parse.urljoin(src.url, match.group(0))
        return _get(url, timeout), url
    if src.how == "npm":
        doc = json.loads(_get(src.url, timeout))
        url = urllib.parse.urljoin(src.url, str(doc["dist"]["tarball"]))
        with tarfile.open(fileobj=io.BytesIO(_get(url, timeout)), mode="r:gz") as tar:
            member = tar.extractfile(src.member)
            if member is None:
                raise ValueError(f"{url}: {src.member} is not a file")
            return member.read(), f"{url}#{src.member}@{doc.get('version', '?')}"
    raise ValueError(f"unknown fetch method {src.how!r}")


def _validate(path: Path) -> str:
    """Parse the downloaded file as a scan would; the detected kind, or an exception."""
    parts = InfraParts()
    load_path(parts, path)
    return parts.sources[-1][1]


def refresh(
    out: Path,
    *,
    names: Sequence[str] | None = None,
    mirror: str | None = None,
    timeout: float = DEFAULT_TIMEOUT_S,
    sources: Sequence[FeedSource] = SOURCES,
    on_source: Callable[[str, dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Fetch ``sources`` (or the ``names`` among them) into ``out``; update its manifest.

    Returns ``{"out", "sources": {name: entry}, "ok", "failed"}``; each entry has
    ``url, file, licence, what`` and, on success, ``ok_at, fetched_from, bytes,
    sha256, detected``; on failure ``error`` (a previous success stays in the entry).
    Raises :class:`DistillguardError` when nothing could be fetched.
    """
    chosen = list(sources)
    if names:
        known = [s.name for s in sources]
        unknown = sorted(set(names) - set(known))
        if unknown:
            raise DistillguardError(f"unknown source(s) {', '.join(unknown)}; choose from {', '.join(known)}")
        chosen = [s for s in sources if s.name in set(names)]
    out.mkdir(parents=True, exist_ok=True)
    previous = read_manifest(out) or {"sources": {}}
    entries: dict[str, dict[str, Any]] = dict(previous["sources"])
    ok, failed = [], []
    for src in chosen:
        entry = dict(entries.get(src.name, {}))
        entry.update(url=src.url, file=src.file, licence=src.licence, what=src.what)
        entry.pop("error", None)
        try:
            if mirror:
                url = mirror.rstrip("/") + "/" + urllib.parse.quote(src.file)
                body = _get(url, timeout)
                if src.gzip:
                    body = gzip.decompress(body)
            else:
                body, url = _fetch(src, timeout)
            stored = gzip.compress(body, mtime=0) if src.gzip else body
            # the exact file name, in a private directory: the loader reads kind words in the name
            tmp_dir = Path(tempfile.mkdtemp(dir=out, prefix=".part-"))
            try:
                tmp = tmp_dir / src.file
                tmp.write_bytes(stored)
                detected = _validate(tmp)
                os.replace(tmp, out / src.file)
            finally:
                shutil.rmtree(tmp_dir, ignore_errors=True)
            entry.update(
                ok_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                fetched_from=url,
                bytes=len(stored),
                sha256=hashlib.sha256(stored).hexdigest(),
                detected=detected,
            )
            ok.append(src.name)
        except _FETCH_ERRORS as err:
            entry["error"] = f"{type(err).__name__}: {err}"[:300]
            failed.append(src.name)
        entries[src.name] = entry
        if on_source is not None:
            on_source(src.name, entry)
    manifest = {
        "manifest_version": MANIFEST_VERSION,
        "updated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "mirror": mirror,
        "sources": entries,
    }
    tmp_manifest = out / (MANIFEST_NAME + ".part")
    tmp_manifest.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp_manifest, out / MANIFEST_NAME)
    if not ok:
        reasons = "; ".join(f"{n}: {entries[n]['error']}" for n in failed[:3])
        raise DistillguardError(f"no IP feed could be downloaded into {out} ({reasons})")
    return {"out": str(out), "sources": {n: entries[n] for n in ok + failed}, "ok": ok, "failed": failed}
