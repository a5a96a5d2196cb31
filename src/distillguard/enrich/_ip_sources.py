"""Read offline IP-infrastructure files into one :class:`InfraParts` accumulator.

Kinds are detected by file name and content, never by network fetch, so a user
points distillguard at whatever feeds they mirror:

* cloud range feeds: AWS ``ip-ranges.json``, Google ``cloud.json``, Oracle
  ``public_ip_ranges.json``, Azure Service Tags JSON or its CSV extract
  (``service_tag,region,ip_version,cidr``) -> ``hosting``;
* provider CSVs ``provider,category,ip_version,cidr`` -> kind from ``category``
  (see :data:`CATEGORY_KINDS`);
* kind-labelled CIDR CSVs ``cidr,kind[,asn,org,...]``;
* iCloud Private Relay ``egress-ip-ranges.csv`` (no header:
  ``prefix,country,region,city``) -> ``relay`` plus the egress country;
* IP-to-ASN CSVs ``ip_start_num,ip_end_num,asn`` (optionally ``.gz``) and ASN
  names ``asn,as_organization`` (or ``asn,name``);
* ASN kind lists: ``AS123 # comment`` lines (kind from the file name, e.g.
  ``x4b_vpn_asns.txt``) or ``ASN,Entity`` CSVs (bad-asn-list: hosting);
* plain lists of CIDRs/addresses, one per line, kind from the file name
  (``tor``, ``vpn``, ``relay``/``egress``, ``datacenter``/``hosting``, ``mobile``)
  or from a first-line comment ``# kind: vpn``;
* MaxMind-format ``.mmdb`` databases (read lazily, see ``_mmdb``).
"""

from __future__ import annotations

import gzip
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from distillguard.enrich._ipaddr import LabelledRanges, cidr6_bounds, parse_cidr4
from distillguard.errors import DistillguardError, UnreadableInputError

#: The ``ip_kind`` values, in precedence order (first wins), then the fallbacks.
KIND_PRECEDENCE: tuple[str, ...] = ("private", "tor", "relay", "vpn", "hosting", "mobile")
IP_KINDS: tuple[str, ...] = (*KIND_PRECEDENCE, "residential", "unknown")

#: Provider-CSV ``category`` -> ip_kind. Crawlers, SaaS and CDNs are datacenter
#: egress (``hosting``); privacy relays and secure web gateways forward many real
#: users through one egress (``relay``); a residential ISP adds no kind (its
#: addresses stay ``residential`` when routed). Unlisted categories -> hosting,
#: because such files list provider (non-eyeball) networks.
CATEGORY_KINDS: dict[str, str | None] = {
    "cloud": "hosting",
    "hosting": "hosting",
    "paas": "hosting",
    "cdn": "hosting",
    "saas": "hosting",
    "social": "hosting",
    "messaging": "hosting",
    "monitoring": "hosting",
    "search_crawler": "hosting",
    "seo_crawler": "hosting",
    "crawler": "hosting",
    "ai_crawler_or_agent": "hosting",
    "datacenter": "hosting",
    "privacy_relay": "relay",
    "relay": "relay",
    "secure_web_gateway": "relay",
    "vpn": "vpn",
    "tor": "tor",
    "mobile": "mobile",
    "residential_isp_satellite": None,
    "residential": None,
    "isp": None,
}

#: File-name keywords -> kind for plain lists (checked in this order).
NAME_KINDS: tuple[tuple[str, str], ...] = (
    ("tor", "tor"),
    ("vpn", "vpn"),
    ("relay", "relay"),
    ("egress", "relay"),
    ("mobile", "mobile"),
    ("datacenter", "hosting"),
    ("hosting", "hosting"),
    ("cloud", "hosting"),
    ("bad_asn", "hosting"),
    ("bad-asn", "hosting"),
)

_KIND_COMMENT = re.compile(r"^#\s*kind\s*:\s*(\w+)", re.IGNORECASE)
_ASN_LINE = re.compile(r"^\s*AS(\d+)\b", re.IGNORECASE)
_ASN_CSV_LINE = re.compile(r"^\s*\"?(?:AS)?(\d+)\"?\s*,", re.IGNORECASE)


@dataclass
class InfraParts:
    """What the loaders found; :class:`IpInfra` freezes it into lookup tables."""

    kind_v4: dict[str, list[tuple[np.ndarray, np.ndarray]]] = field(default_factory=dict)
    kind_v6: dict[str, list[tuple[int, int]]] = field(default_factory=dict)
    asn_ranges: list[LabelledRanges] = field(default_factory=list)
    prefix_asn_v4: list[LabelledRanges] = field(default_factory=list)
    asn_names: dict[int, str] = field(default_factory=dict)
    asn_kinds: dict[str, set[int]] = field(default_factory=dict)
    country_v4: list[tuple[np.ndarray, np.ndarray, list[str]]] = field(default_factory=list)
    country_v6: list[tuple[int, int, str]] = field(default_factory=list)
    mmdb_paths: list[Path] = field(default_factory=list)
    sources: list[tuple[str, str]] = field(default_factory=list)  # (path, detected kind)

    def add_cidrs(self, cidrs: pa.Array, kind: str) -> None:
        """Add CIDR strings (IPv4 vectorized, IPv6 one by one) under ``kind``."""
        _check_kind(kind)
        cidrs = pc.drop_null(cidrs.cast(pa.string()))
        start, end, ok = parse_cidr4(cidrs)
        if ok.any():
            self.kind_v4.setdefault(kind, []).append((start[ok], end[ok]))
        v6 = pc.filter(cidrs, pc.match_substring(cidrs, ":")).to_pylist()
        bounds = [b for b in (cidr6_bounds(c) for c in v6) if b is not None]
        if bounds:
            self.kind_v6.setdefault(kind, []).extend(bounds)

    def add_asn_kind(self, asns: np.ndarray | list[int], kind: str) -> None:
        _check_kind(kind)
        self.asn_kinds.setdefault(kind, set()).update(int(a) for a in asns)


def _check_kind(kind: str) -> None:
    if kind not in KIND_PRECEDENCE:
        raise DistillguardError(f"unknown ip kind {kind!r}; expected one of {', '.join(KIND_PRECEDENCE)}")


def _read_text(path: Path) -> str:
    try:
        raw = path.read_bytes()
        if path.suffix == ".gz":
            raw = gzip.decompress(raw)
        return raw.decode("utf-8", errors="replace")
    except OSError as err:
        raise UnreadableInputError(path, err.strerror or str(err)) from err
    except (EOFError, gzip.BadGzipFile) as err:
        raise UnreadableInputError(path, f"bad gzip data ({err})") from err


def _read_csv(path: Path, text: str, **kwargs: object) -> pa.Table:
    import pyarrow.csv as pacsv

    try:
        return pacsv.read_csv(io.BytesIO(text.encode()), **kwargs)  # type: ignore[arg-type]
    except pa.ArrowInvalid as err:
        raise UnreadableInputError(path, f"bad CSV ({str(err).splitlines()[0]})") from err


def _kind_from_name(path: Path) -> str | None:
    name = path.name.lower()
    for word, kind in NAME_KINDS:
        if word in name:
            return kind
    return None


def load_path(parts: InfraParts, path: Path) -> None:
    """Detect ``path``'s kind and add its content to ``parts``; unknown files are an error."""
    if not path.exists():
        raise UnreadableInputError(path, "no such file")
    lower = path.name.lower()
    if lower.endswith(".mmdb"):
        parts.mmdb_paths.append(path)
        parts.sources.append((str(path), "mmdb"))
        return
    text = _read_text(path)
    stripped = text.lstrip()
    if lower.endswith(".json") or stripped.startswith("{"):
        detected = _load_json(parts, path, text)
    else:
        detected = _load_delimited(parts, path, text)
    parts.sources.append((str(path), detected))


def _load_json(parts: InfraParts, path: Path, text: str) -> str:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as err:
        raise UnreadableInputError(path, f"bad JSON ({err.msg} at line {err.lineno})") from err
    if not isinstance(doc, dict):
        raise DistillguardError(f"{path}: unrecognised IP feed (JSON is not an object)")
    cidrs: list[str] = []
    detected = ""
    if isinstance(doc.get("prefixes"), list) and any("ip_prefix" in p for p in doc["prefixes"][:5]):
        cidrs = [p["ip_prefix"] for p in doc["prefixes"]]
        cidrs += [p["ipv6_prefix"] for p in doc.get("ipv6_prefixes", []) if "ipv6_prefix" in p]
        detected = "aws-ranges"
    elif isinstance(doc.get("prefixes"), list):
        for p in doc["prefixes"]:
            cidr = p.get("ipv4Prefix") or p.get("ipv6Prefix")
            if cidr:
                cidrs.append(cidr)
        detected = "google-ranges"
    elif isinstance(doc.get("regions"), list):
        cidrs = [c["cidr"] for r in doc["regions"] for c in r.get("cidrs", []) if "cidr" in c]
        detected = "oracle-ranges"
    elif isinstance(doc.get("values"), list):
        for v in doc["values"]:
            cidrs += v.get("properties", {}).get("addressPrefixes", [])
        detected = "azure-service-tags"
    if not detected or not cidrs:
        raise DistillguardError(f"{path}: unrecognised IP feed JSON (no AWS/Google/Oracle/Azure prefixes)")
    parts.add_cidrs(pa.array(cidrs, pa.string()), "hosting")
    return detected


def _first_data_lines(text: str, n: int = 5) -> list[str]:
    lines = []
    for line in text.splitlines():
        s = line.strip()
        if s and not s.startswith("#"):
            lines.append(s)
            if len(lines) >= n:
                break
    return lines


def _load_delimited(parts: InfraParts, path: Path, text: str) -> str:
    lines = _first_data_lines(text)
    if not lines:
        raise DistillguardError(f"{path}: empty IP infrastructure file")
    header = [h.strip().strip('"').lower() for h in lines[0].split(",")]
    cols = set(header)
    if {"ip_start_num", "ip_end_num", "asn"} <= cols:
        return _load_asn_ranges(parts, path, text)
    if len(header) >= 3 and all(h.isdigit() for h in header[:3]):
        return _load_asn_num_lines(parts, path, text)
    if "asn" in cols and ({"as_organization", "name", "as_org", "org"} & cols):
        return _load_asn_names(parts, path, text, header)
    if header[:2] == ["asn", "entity"]:
        # Parsed by line: real lists have stray spaces before quoted names.
        asns = [int(m.group(1)) for m in map(_ASN_CSV_LINE.match, text.splitlines()[1:]) if m]
        parts.add_asn_kind(asns, _kind_from_name(path) or "hosting")
        return "asn-list-csv"
    if {"category", "cidr"} <= cols:
        return _load_category_csv(parts, path, text)
    if {"service_tag", "cidr"} <= cols:
        t = _read_csv(path, text)
        parts.add_cidrs(t.column("cidr"), "hosting")
        return "azure-ranges-csv"
    if {"cidr", "kind"} <= cols:
        return _load_kind_csv(parts, path, text)
    return _load_lines(parts, path, text, lines)


def _load_asn_ranges(parts: InfraParts, path: Path, text: str) -> str:
    t = _read_csv(path, text)
    start = pc.cast(t.column("ip_start_num"), pa.int64()).to_numpy()
    end = pc.cast(t.column("ip_end_num"), pa.int64()).to_numpy()
    asn = pc.cast(t.column("asn"), pa.int64()).to_numpy()
    v4 = end <= 0xFFFFFFFF
    parts.asn_ranges.append(LabelledRanges.build(start[v4], end[v4], asn[v4]))
    return "ip-to-asn"


def _load_asn_num_lines(parts: InfraParts, path: Path, text: str) -> str:
    """Headerless ``start,end,asn[,organisation]`` lines with integer IPv4 bounds: the
    ``asn-ipv4-num.csv`` of the npm package ``@ip-location-db/asn`` (RouteViews + DB-IP)."""
    import csv

    import pyarrow.csv as pacsv

    ncols = len(next(csv.reader([_first_data_lines(text, 1)[0]])))
    names = ["ip_start_num", "ip_end_num", "asn", "as_organization"][:ncols]
    t = _read_csv(
        path,
        text,
        read_options=pacsv.ReadOptions(column_names=names),
        convert_options=pacsv.ConvertOptions(
            column_types={"ip_start_num": pa.int64(), "ip_end_num": pa.int64(), "asn": pa.int64()},
            include_columns=names,
        ),
    )
    start, end, asn = (t.column(c).to_numpy() for c in ("ip_start_num", "ip_end_num", "asn"))
    v4 = (end <= 0xFFFFFFFF) & (start <= end)
    parts.asn_ranges.append(LabelledRanges.build(start[v4], end[v4], asn[v4]))
    if "as_organization" in t.column_names:
        pairs = pa.table({"a": t.column("asn"), "o": t.column("as_organization").cast(pa.string())})
        pairs = pairs.group_by("a", use_threads=False).aggregate([("o", "first")])
        for a, o in zip(pairs.column("a").to_pylist(), pairs.column("o_first").to_pylist(), strict=True):
            if a is not None and o:
                parts.asn_names.setdefault(a, o)
    return "ip-to-asn-num-lines"


def _load_asn_names(parts: InfraParts, path: Path, text: str, header: list[str]) -> str:
    t = _read_csv(path, text)
    name_col = next(c for c in ("as_organization", "as_org", "name", "org") if c in header)
    names = t.rename_columns([c.strip().lower() for c in t.column_names])
    asns = pc.cast(names.column("asn"), pa.int64()).to_pylist()
    orgs = names.column(name_col).cast(pa.string()).to_pylist()
    parts.asn_names.update({a: o for a, o in zip(asns, orgs, strict=True) if a is not None and o})
    return "asn-names"


def _load_category_csv(parts: InfraParts, path: Path, text: str) -> str:
    t = _read_csv(path, text)
    cats = pc.utf8_lower(t.column("category").cast(pa.string()))
    for cat in pc.unique(cats).to_pylist():
        if cat is None:
            continue
        kind = CATEGORY_KINDS.get(cat, "hosting")
        if kind is not None:
            parts.add_cidrs(pc.filter(t.column("cidr"), pc.equal(cats, cat)), kind)
    return "provider-ranges-csv"


def _load_kind_csv(parts: InfraParts, path: Path, text: str) -> str:
    t = _read_csv(path, text)
    kinds = pc.utf8_lower(pc.utf8_trim_whitespace(t.column("kind").cast(pa.string())))
    for kind in pc.unique(kinds).to_pylist():
        if kind:
            parts.add_cidrs(pc.filter(t.column("cidr"), pc.equal(kinds, kind)), kind)
    return "kind-cidr-csv"


def _load_lines(parts: InfraParts, path: Path, text: str, first: list[str]) -> str:
    """Plain lists: ASN lines, relay egress CSV (prefix,country,...), or CIDRs."""
    match = _KIND_COMMENT.match(text.lstrip())
    kind = match.group(1).lower() if match else _kind_from_name(path)
    if _ASN_LINE.match(first[0]):
        asns = [int(m.group(1)) for m in map(_ASN_LINE.match, text.splitlines()) if m]
        if kind is None:
            raise DistillguardError(
                f"{path}: ASN list without a kind (name it *vpn*/*datacenter*/... "
                "or start it with '# kind: vpn')"
            )
        parts.add_asn_kind(asns, kind)
        return f"asn-list:{kind}"
    body = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    fields = [ln.split(",") for ln in body]
    if fields and len(fields[0]) >= 2 and fields[0][1].strip().lower() in KIND_PRECEDENCE:
        # headerless "cidr,kind" lines
        line_kinds = pa.array([f[1].strip().lower() if len(f) > 1 else None for f in fields])
        cidrs = pa.array([f[0].strip() for f in fields], pa.string())
        for k in pc.unique(pc.drop_null(line_kinds)).to_pylist():
            parts.add_cidrs(pc.filter(cidrs, pc.equal(line_kinds, k)), k)
        return "kind-cidr-lines"
    if fields and all(len(f) >= 2 for f in fields[:5]) and cidr6_or4(fields[0][0]):
        # iCloud Private Relay egress-ip-ranges.csv: prefix,country,region,city
        cidrs = pa.array([f[0].strip() for f in fields], pa.string())
        countries = [f[1].strip().upper() or None for f in fields]
        parts.add_cidrs(cidrs, kind if kind in KIND_PRECEDENCE else "relay")
        _add_countries(parts, cidrs, countries)
        return "relay-egress-csv"
    if not cidr6_or4(first[0]):
        raise DistillguardError(f"{path}: unrecognised IP infrastructure file (first line {first[0][:60]!r})")
    if kind is None:
        raise DistillguardError(
            f"{path}: CIDR list without a kind (name it *tor*/*vpn*/*relay*/"
            "*datacenter*/*mobile* or start it with '# kind: vpn')"
        )
    parts.add_cidrs(pa.array([ln.split()[0] for ln in body], pa.string()), kind)
    return f"cidr-list:{kind}"


def cidr6_or4(text: str) -> bool:
    """Whether ``text`` is an IPv4/IPv6 address or CIDR."""
    _, _, ok = parse_cidr4(pa.array([text]))
    return bool(ok[0]) or cidr6_bounds(text) is not None


def _add_countries(parts: InfraParts, cidrs: pa.Array, countries: list[str | None]) -> None:
    start, end, ok = parse_cidr4(cidrs)
    keep = np.flatnonzero(ok)
    parts.country_v4.append((start[keep], end[keep], [countries[i] or "" for i in keep]))
    for i in np.flatnonzero(~ok):
        bounds = cidr6_bounds(cidrs[int(i)].as_py())
        if bounds and countries[i]:
            parts.country_v6.append((bounds[0], bounds[1], countries[i]))


def load_builtin(parts: InfraParts) -> None:
    """Add the embedded defaults (``enrich/data/builtin_*.csv``, see its README)."""
    from importlib.resources import files

    data = files("distillguard.enrich") / "data"
    prefixes = _read_csv(Path("builtin_prefixes.csv"), (data / "builtin_prefixes.csv").read_text())
    _load_kind_csv(parts, Path("builtin_prefixes.csv"), (data / "builtin_prefixes.csv").read_text())
    with_asn = pc.filter(prefixes, prefixes.column("asn").is_valid())
    start, end, ok = parse_cidr4(with_asn.column("cidr"))
    asn = pc.cast(with_asn.column("asn"), pa.int64()).to_numpy()
    parts.prefix_asn_v4.append(LabelledRanges.build(start[ok], end[ok], asn[ok]))
    for a, o in zip(asn.tolist(), with_asn.column("org").to_pylist(), strict=True):
        parts.asn_names.setdefault(a, o)
    asns = _read_csv(Path("builtin_asns.csv"), (data / "builtin_asns.csv").read_text())
    for a, kind, org in zip(*(asns.column(c).to_pylist() for c in ("asn", "kind", "org")), strict=True):
        parts.add_asn_kind([a], kind)
        parts.asn_names.setdefault(a, org)
    parts.sources.append(("builtin", "builtin"))
