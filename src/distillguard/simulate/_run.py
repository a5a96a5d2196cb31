"""The simulation driver: build the world, every persona's accounts, then stream events.

Per persona ``i`` and chunk ``j`` the random stream is ``default_rng([seed, i, j])``, so
output bytes depend on the seed and the scenario only (not on chunk timing or on how
many personas ran before).
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from distillguard.errors import DistillguardError
from distillguard.schema import LABELS_SCHEMA, QUARANTINE_SCHEMA
from distillguard.simulate._attacks import __doc__ as _ATTACK_DOC
from distillguard.simulate._clients import ClientTable
from distillguard.simulate._corpus import Corpus
from distillguard.simulate._events import build_events
from distillguard.simulate._netranges import NetRanges
from distillguard.simulate._persona import chunk_accounts
from distillguard.simulate._registry import make_persona
from distillguard.simulate._scenario import Scenario, load_scenario
from distillguard.simulate._world import Model, World, provider_names
from distillguard.simulate._writer import DayPartitionedWriter

LABEL_POLICY = (
    "relay_hijacked_key accounts belong to legitimate customers whose API key was stolen; the traffic "
    "sent through the stolen key is distillation, so they are labelled is_attack=true with the relay "
    "campaign: the provider must act (revoke the key, notify the customer) rather than ban the account."
)
MAX_PROVIDERS = 999
#: Where the benign arrival-process constants come from (see ``_timing_fit``).
TIMING_SOURCE = "ServeGen m-large per-client 600 s windows (cv quantiles, persistence): _timing_fit.py"


@dataclass
class SimulationResult:
    """What a run wrote and how fast."""

    out: Path
    scenario: str
    seed: int
    events: int
    accounts: int
    attack_accounts: int
    seconds: float
    files: list[Path] = field(default_factory=list)
    manifest: dict = field(default_factory=dict)

    @property
    def events_per_s(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else float("inf")


def simulate(
    scenario: str | Path | Scenario,
    out: str | Path,
    *,
    seed: int = 0,
    providers: int = 1,
    corpus: str | Path | None = None,
    progress: bool = True,
    overwrite: bool = False,
) -> SimulationResult:
    """Simulate ``scenario`` into the event directory ``out`` (plus labels and manifest)."""
    t0 = time.perf_counter()
    sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    if not isinstance(seed, int) or seed < 0:
        raise DistillguardError(f"seed must be a non-negative integer, got {seed!r}")
    if not 1 <= providers <= MAX_PROVIDERS:
        raise DistillguardError(f"providers must be in 1..{MAX_PROVIDERS}, got {providers}")
    out = Path(out)
    _prepare_out(out, overwrite)
    corp = Corpus.load(corpus) if corpus is not None else None
    nets = NetRanges.from_corpus(Path(corpus)) if corpus is not None else NetRanges.builtin()
    models = [Model(m.name, m.role, m.release_day * 24.0, m.reasoning, m.new) for m in sc.models]
    world = World(seed, sc.start, sc.days, models, provider_names(providers), nets, ClientTable(), corp)

    built = []
    for i, entry in enumerate(sc.personas):
        persona = make_persona(entry, salt=i + 1)
        rng = np.random.default_rng([seed, i, 0])
        acc = persona.build(world, rng)
        counts = persona.counts(rng, acc)
        built.append((i, entry, persona, acc, counts))
    total = int(sum(int(b[4].sum()) for b in built))

    writer = DayPartitionedWriter(out, world.start_us)
    labels: list[pa.Table] = []
    per_persona: dict[str, dict] = {}
    bar = _progress(progress, total, sc.name)
    try:
        for i, entry, persona, acc, counts in built:
            ids = acc.arrow(world)["account_id"]
            labels.append(_labels(ids, acc, persona.profile.is_attack))
            events_written = 0
            for j, idx in enumerate(chunk_accounts(counts, sc.chunk_events)):
                rng = np.random.default_rng([seed, i, j + 1])
                for profile, chunk in persona.batches(world, rng, acc, idx, counts[idx], j):
                    table = build_events(world, profile, acc, chunk, rng, key_base=i + 1)
                    writer.write(table)
                    events_written += table.num_rows
                    if bar is not None:
                        bar[0].update(bar[1], advance=table.num_rows)
            per_persona[entry.key] = _persona_summary(entry, persona, acc, counts, events_written)
    finally:
        writer.close()
        if bar is not None:
            bar[0].stop()

    label_table = pa.concat_tables(labels)
    pq.write_table(label_table, out / "labels.parquet", compression="zstd")
    pq.write_table(QUARANTINE_SCHEMA.empty_table(), out / "quarantine.parquet")
    manifest = _manifest(sc, world, seed, providers, corp, per_persona, writer.rows, label_table)
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    attack = int(np.asarray(label_table.column("is_attack")).sum())
    return SimulationResult(
        out=out,
        scenario=sc.name,
        seed=seed,
        events=writer.rows,
        accounts=label_table.num_rows,
        attack_accounts=attack,
        seconds=time.perf_counter() - t0,
        files=sorted(writer.files),
        manifest=manifest,
    )


def _prepare_out(out: Path, overwrite: bool) -> None:
    if out.exists() and not out.is_dir():
        raise DistillguardError(f"output path exists and is not a directory: {out}")
    if out.is_dir() and any(out.iterdir()):
        if not overwrite:
            raise DistillguardError(f"output directory is not empty: {out} (use --overwrite)")
        for name in ("events", "labels.parquet", "manifest.json", "quarantine.parquet"):
            p = out / name
            if p.is_dir():
                shutil.rmtree(p)
            elif p.exists():
                p.unlink()
    out.mkdir(parents=True, exist_ok=True)


def _labels(ids: pa.Array, acc, is_attack: bool) -> pa.Table:
    n = len(acc)
    return pa.table(
        {
            "account_id": ids,
            "is_attack": pa.array(np.full(n, is_attack)),
            "campaign": pa.array(list(acc.campaign), type=pa.string()),
            "persona": pa.array(list(acc.persona), type=pa.string()),
        },
        schema=LABELS_SCHEMA,
    )


def _persona_summary(entry, persona, acc, counts, events: int) -> dict:
    providers = sorted({int(p) for p in np.unique(acc.provider)})
    return {
        "persona": entry.persona,
        "is_attack": persona.profile.is_attack,
        "campaign": persona.campaign,
        "accounts": len(acc),
        "events": events,
        "label_personas": {
            str(k): int(v)
            for k, v in zip(*np.unique(acc.persona.astype(str), return_counts=True), strict=True)
        },
        "providers": len(providers),
        "max_account_events": int(counts.max()),
    }


def _manifest(sc, world, seed, providers, corp, per_persona, rows, labels) -> dict:
    campaigns: dict[str, dict] = {}
    for key, s in per_persona.items():
        if s["is_attack"]:
            c = campaigns.setdefault(s["campaign"], {"personas": [], "accounts": 0, "events": 0})
            c["personas"].append(key)
            c["accounts"] += s["accounts"]
            c["events"] += s["events"]
    return {
        "scenario": sc.name,
        "description": sc.description,
        "scenario_source": Path(sc.source).name,
        "seed": seed,
        "providers": world.providers,
        "start": sc.start.isoformat().replace("+00:00", "Z"),
        "end": (sc.start + timedelta(days=sc.days)).isoformat().replace("+00:00", "Z"),
        "days": sc.days,
        "events": rows,
        "accounts": labels.num_rows,
        "attack_accounts": int(np.asarray(labels.column("is_attack")).sum()),
        "models": [
            {
                "name": m.name,
                "role": m.role,
                "reasoning": m.reasoning,
                "new": m.new,
                "released_at": (sc.start + timedelta(hours=m.release_h)).isoformat().replace("+00:00", "Z"),
            }
            for m in world.models
        ],
        "personas": per_persona,
        "campaigns": campaigns,
        "label_policy": LABEL_POLICY,
        "network_ranges": world.nets.source,
        "timing_calibration": TIMING_SOURCE,
        "corpus": None if corp is None else {"root": str(corp.root), **corp.counts()},
        "attack_notes": (_ATTACK_DOC or "").strip().split("\n\n")[0],
    }


def _progress(enabled: bool, total: int, name: str):
    """A bar on a terminal, plain lines on stderr otherwise (``distillguard._progress``)."""
    if not enabled:
        return None
    from distillguard._progress import make_progress

    bar = make_progress(True, counts=True, transient=False)
    task = bar.add_task(f"simulate {name}", total=total)
    bar.start()
    return bar, task
