"""Federation benchmark: does sharing keyed indicators catch what no provider sees alone?

Simulates a world split over N providers (low-and-slow campaigns spread thinly), scans
each provider alone, exports each provider's findings (campaigns, the pooled
suspicious-level group and frame families) as a keyed STIX bundle, exchanges the bundles through a real
TAXII 2.1 server on loopback (medallion; ``--exchange files`` skips it), rescans each
provider with its partners' intel, and prints per-provider and overall recall and benign
false-positive rate with and without sharing.

    .venv/bin/python bench/federation.py --providers 10 --scenario tiny --out /tmp/fed
    .venv/bin/python bench/federation.py --providers 10 --scenario small --reuse

Positive decision = verdict ``attack``. Targets (issue 5): with sharing, low-and-slow
recall >= 0.9 while benign FPR <= 0.1%. Scans run with replay off (``flagged_at`` is not
measured here). ``--reuse`` keeps the simulation and the per-provider split when the
scenario, seed and provider count match; scans and exports always re-run, because
detection code changes under them.

Besides the verdicts, the table reports intel itself: how many low-and-slow and benign
accounts carry an intel family at or above scoring's ``family_fire``, and "projected"
recall / FPR: the shared scan's verdicts minus campaign members whose own evidence
(``campaign_member`` excluded, partner intel included) scores below ``suspicious_score``.
It separates what partners' intel adds from how the campaign stage spreads membership to
accounts with no evidence of their own once intel seeds a campaign.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

TARGET_LOW_AND_SLOW_RECALL = 0.9
TARGET_BENIGN_FPR = 0.001
GROUPS = ("attack", "low_and_slow", "benign")


def _simulate(args: argparse.Namespace, say: Callable[[str], None]) -> Path:
    """The simulation under ``out/sim``, reused when ``--reuse`` and it matches the arguments."""
    sim = args.out / "sim"
    manifest = sim / "manifest.json"
    if args.reuse and manifest.is_file():
        m = json.loads(manifest.read_text())
        if (m.get("scenario"), m.get("seed"), len(m.get("providers", []))) == (
            args.scenario,
            args.seed,
            args.providers,
        ):
            say(f"reusing simulation {sim}")
            return sim
    from distillguard.simulate import simulate

    if args.out.exists():
        shutil.rmtree(args.out)
    t0 = time.perf_counter()
    res = simulate(args.scenario, sim, seed=args.seed, providers=args.providers, progress=False)
    say(
        f"simulated {res.events:,} events, {res.accounts:,} accounts over {args.providers} providers "
        f"({time.perf_counter() - t0:.1f}s)"
    )
    return sim


def _split(sim: Path, out: Path, reuse: bool) -> dict[str, Path]:
    """One event directory per provider (the ``provider`` column), as each would hold it."""
    dataset = ds.dataset(sim / "events", format="parquet", partitioning="hive")
    names = sorted(set(pc.unique(dataset.to_table(columns=["provider"])["provider"]).to_pylist()))
    dirs = {}
    for name in names:
        target = out / name
        part = target / "events" / "day=all" / "part-0.parquet"
        dirs[name] = target
        if reuse and part.is_file():
            continue
        table = dataset.to_table(filter=pc.field("provider") == name)
        table = table.drop_columns([c for c in table.column_names if c == "day"])
        part.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, part)
        pq.write_table(pa.table({"reason": pa.array([], pa.string())}), target / "quarantine.parquet")
    return dirs


def _rates(
    scan_dir: Path, labels: pa.Table, flagged: set[str] | None = None, *, only: bool = False
) -> dict[str, tuple[int, int]]:
    """(flagged, total) for attack, low_and_slow and benign accounts of one provider.

    Flagged = verdict ``attack``, or exactly ``flagged`` when ``only``.
    """
    acc = pq.read_table(scan_dir / "accounts.parquet", columns=["account_id", "verdict"])
    if not only:
        flagged = set(pc.filter(acc["account_id"], pc.equal(acc["verdict"], "attack")).to_pylist())
    flagged = flagged or set()
    lab = labels.filter(pc.is_in(labels["account_id"], acc["account_id"]))
    ids = np.asarray(lab["account_id"].to_pylist(), dtype=object)
    hit = np.fromiter((a in flagged for a in ids), dtype=bool, count=len(ids))
    attack = lab["is_attack"].to_numpy(zero_copy_only=False).astype(bool)
    slow = np.asarray(lab["persona"].to_pylist(), dtype=object) == "low_and_slow"
    return {
        "attack": (int((hit & attack).sum()), int(attack.sum())),
        "low_and_slow": (int((hit & slow).sum()), int(slow.sum())),
        "benign": (int((hit & ~attack).sum()), int((~attack).sum())),
    }


def _intel_view(scan_dir: Path, labels: pa.Table) -> tuple[dict[str, int], set[str]]:
    """Intel diagnostics of a shared scan, and the attacks under the projected member rule.

    Projection: the scan's attack verdicts, minus campaign members whose own evidence
    (every signal but ``campaign_member``, partner intel included) scores below scoring's
    ``suspicious_score``: membership alone must not lift an account to attack.
    """
    from distillguard.detectors.base import FAMILIES
    from distillguard.scoring import ScoringParams, family_scores

    p = ScoringParams()
    acc = pq.read_table(scan_dir / "accounts.parquet", columns=["account_id", "verdict", "campaign_id"])
    sig = pq.read_table(scan_dir / "signals.parquet")
    # campaign_member is the campaign stage's conclusion about the account, not its own evidence
    sig = sig.filter(pc.not_equal(sig["signal"], "campaign_member"))
    ids = np.asarray(acc["account_id"].to_pylist(), dtype=object)
    fam = family_scores(sig, ids, p)
    own = 1.0 - np.prod(1.0 - p.family_cap * fam, axis=1)
    fired = fam >= p.family_fire
    intel = fired[:, FAMILIES.index("intel")]
    local = np.delete(fired, FAMILIES.index("intel"), axis=1).any(axis=1)
    attack = np.asarray(acc["verdict"].to_pylist(), dtype=object) == "attack"
    member = acc["campaign_id"].is_valid().to_numpy(zero_copy_only=False)
    projected = set(ids[attack & ~(member & (own < p.suspicious_score))].tolist())
    persona = dict(zip(labels["account_id"].to_pylist(), labels["persona"].to_pylist(), strict=True))
    is_attack = dict(zip(labels["account_id"].to_pylist(), labels["is_attack"].to_pylist(), strict=True))
    slow = np.asarray([persona.get(a) == "low_and_slow" for a in ids])
    benign = np.asarray([not is_attack.get(a, False) for a in ids])
    counts = {
        "intel_low_and_slow": int((intel & slow).sum()),
        "intel_benign": int((intel & benign).sum()),
        "intel_and_local_low_and_slow": int((intel & local & slow).sum()),
        "member_only_benign": int((attack & member & (own < p.suspicious_score) & benign).sum()),
    }
    return counts, projected


def _exchange_taxii(bundles: dict[str, Path], out: Path, say: Callable[[str], None]) -> dict[str, Path]:
    """Push every bundle to a loopback medallion, then pull each provider's inbox through it."""
    from distillguard.share import pull, push
    from distillguard.share.testing import local_taxii_server

    inbox: dict[str, Path] = {}
    t0 = time.perf_counter()
    with local_taxii_server(page_size=200) as srv:
        creds = {"server": srv.url, "collection": srv.collection, "user": srv.user, "password": srv.password}
        pushed = sum(push(b, **creds).succeeded for b in bundles.values())
        for name in bundles:
            got = pull(
                **creds,
                out=out / name / "pulled.json",
                state_file=out / name / "state.json",
                page_size=200,
            )
            if got.path is not None:
                inbox[name] = got.path
    say(f"TAXII: {pushed} objects pushed, {len(inbox)} inboxes pulled ({time.perf_counter() - t0:.1f}s)")
    return inbox


def _ratio(pair: tuple[int, int]) -> float:
    return pair[0] / pair[1] if pair[1] else float("nan")


def _add(total: dict[str, tuple[int, int]], rates: dict[str, tuple[int, int]]) -> None:
    for k in GROUPS:
        f, n = total.get(k, (0, 0))
        total[k] = (f + rates[k][0], n + rates[k][1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--providers", type=int, default=10)
    ap.add_argument("--scenario", default="tiny", help="packaged scenario (tiny, small, ...) or YAML path")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--out", type=Path, default=Path("/tmp/distillguard-federation"))
    ap.add_argument("--reuse", action="store_true", help="reuse a matching simulation and split")
    ap.add_argument("--exchange", choices=("taxii", "files"), default="taxii")
    ap.add_argument(
        "--share-ips",
        action="store_true",
        help="export client IPs and /24s too (off by default: group members can read them)",
    )
    args = ap.parse_args()

    from rich.console import Console
    from rich.table import Table

    from distillguard.scan import scan
    from distillguard.share import ExportParams, export_bundle, generate_key
    from distillguard.share._stix import identity_id_for
    from distillguard.share.intel import intel_signals  # noqa: F401  (fail early if missing)

    console = Console(width=180)
    say = console.print
    started = time.perf_counter()
    sim = _simulate(args, say)
    labels = pq.read_table(sim / "labels.parquet")
    dirs = _split(sim, args.out / "providers", args.reuse)
    for sub in ("scan_alone", "scan_shared", "bundles", "inbox"):
        shutil.rmtree(args.out / sub, ignore_errors=True)
    key = args.out / "group.key.json"
    generate_key(key, overwrite=True)

    before: dict[str, dict] = {}
    bundles: dict[str, Path] = {}
    levels: dict[str, dict[str, int]] = {}
    t1 = time.perf_counter()
    for name, events in dirs.items():
        scan_dir = args.out / "scan_alone" / name
        scan([events], scan_dir, progress=False, report=False, replay=False)
        before[name] = _rates(scan_dir, labels)
        res = export_bundle(
            scan_dir,
            key_file=key,
            out=args.out / "bundles" / f"{name}.json",
            identity=name,
            params=ExportParams(share_ips=args.share_ips),
        )
        bundles[name] = res.path
        levels[name] = {**res.levels, "indicators": res.indicators}
    say(f"scanned + exported {len(dirs)} providers alone ({time.perf_counter() - t1:.1f}s)")

    inbox = _exchange_taxii(bundles, args.out / "inbox", say) if args.exchange == "taxii" else {}
    after: dict[str, dict] = {}
    projected: dict[str, dict] = {}
    diag: dict[str, dict[str, int]] = {}
    t2 = time.perf_counter()
    for name, events in dirs.items():
        if args.exchange == "taxii":
            intel = [_drop_own(inbox[name], identity_id_for(name))] if name in inbox else []
        else:
            intel = [b for n, b in bundles.items() if n != name]
        scan_dir = args.out / "scan_shared" / name
        scan(
            [events], scan_dir, intel=intel or None, key_file=key, progress=False, report=False, replay=False
        )
        after[name] = _rates(scan_dir, labels)
        diag[name], proj = _intel_view(scan_dir, labels)
        projected[name] = _rates(scan_dir, labels, proj, only=True)
    say(f"rescanned {len(dirs)} providers with partners' intel ({time.perf_counter() - t2:.1f}s)")

    _print_table(console, Table, args, dirs, before, after, projected, diag)
    tot = {tag: {} for tag in ("before", "after", "projected")}
    for name in dirs:
        for tag, rates in (("before", before), ("after", after), ("projected", projected)):
            _add(tot[tag], rates[name])
    for tag in ("after", "projected"):
        slow, fpr = _ratio(tot[tag]["low_and_slow"]), _ratio(tot[tag]["benign"])
        ok = slow >= TARGET_LOW_AND_SLOW_RECALL and fpr <= TARGET_BENIGN_FPR
        what = "scan verdicts" if tag == "after" else "projected member rule"
        say(
            f"with sharing ({what}): low-and-slow recall "
            f"{slow:.3f} (target >= {TARGET_LOW_AND_SLOW_RECALL}), benign FPR {fpr:.4%} "
            f"(target <= {TARGET_BENIGN_FPR:.1%}) -> {'MET' if ok else 'NOT MET'}"
        )
    dsum = {k: sum(d[k] for d in diag.values()) for k in next(iter(diag.values()))}
    say(
        f"intel family fired: low-and-slow {dsum['intel_low_and_slow']} "
        f"(with a local family too: {dsum['intel_and_local_low_and_slow']}), benign {dsum['intel_benign']}; "
        f"benign attacks whose only evidence is campaign membership: {dsum['member_only_benign']}"
    )
    say(f"total {time.perf_counter() - started:.1f}s")
    report: dict[str, Any] = {
        "scenario": args.scenario,
        "seed": args.seed,
        "providers": args.providers,
        "share_ips": args.share_ips,
        "before": before,
        "after": after,
        "projected": projected,
        "intel": diag,
        "exports": levels,
        "totals": tot,
    }
    (args.out / "federation.json").write_text(json.dumps(report, indent=2))


def _drop_own(bundle: Path, own_identity: str) -> Path:
    """A pulled bundle without our own objects (scan has no own-identity filter of its own)."""
    data = json.loads(bundle.read_text())
    data["objects"] = [o for o in data["objects"] if o.get("created_by_ref") != own_identity]
    out = bundle.with_name("partners.json")
    out.write_text(json.dumps(data))
    return out


def _print_table(console, table_cls, args, dirs, before, after, projected, diag) -> None:
    table = table_cls(
        title=f"federation: {args.providers} providers, scenario {args.scenario}, seed {args.seed}, "
        f"IP indicators {'on' if args.share_ips else 'off'} (recall / FPR of verdict attack)"
    )
    cols = ["provider", "attack", "low&slow", "benign FPR"]
    cols += [f"{c} (shared)" for c in ("attack", "low&slow", "benign FPR")]
    cols += ["low&slow (proj.)", "FPR (proj.)", "intel fired: l&s / benign"]
    for col in cols:
        table.add_column(col, justify="right")
    totals: dict[str, dict] = {"before": {}, "after": {}, "projected": {}}
    dsum = {"intel_low_and_slow": 0, "intel_benign": 0}

    def cells(r: dict[str, tuple[int, int]]) -> list[str]:
        return [
            f"{_ratio(r['attack']):.3f}",
            f"{_ratio(r['low_and_slow']):.3f}",
            f"{_ratio(r['benign']):.2%}",
        ]

    for name in dirs:
        for tag, rates in (("before", before), ("after", after), ("projected", projected)):
            _add(totals[tag], rates[name])
        for k in dsum:
            dsum[k] += diag[name][k]
        p = projected[name]
        table.add_row(
            name,
            *cells(before[name]),
            *cells(after[name]),
            f"{_ratio(p['low_and_slow']):.3f}",
            f"{_ratio(p['benign']):.2%}",
            f"{diag[name]['intel_low_and_slow']}/{p['low_and_slow'][1]} / {diag[name]['intel_benign']}",
        )
    p = totals["projected"]
    table.add_row(
        "overall",
        *cells(totals["before"]),
        *cells(totals["after"]),
        f"{_ratio(p['low_and_slow']):.3f}",
        f"{_ratio(p['benign']):.2%}",
        f"{dsum['intel_low_and_slow']}/{p['low_and_slow'][1]} / {dsum['intel_benign']}",
        style="bold",
    )
    console.print(table)


if __name__ == "__main__":
    main()
