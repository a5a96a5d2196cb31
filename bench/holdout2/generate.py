"""Second independent hold-out generator: ``generate.py OUT --seed N [--scale S]``.

Writes an event directory (``OUT/events/day=*/part-0.parquet`` in EVENT_SCHEMA,
``OUT/labels.parquet``, an empty ``OUT/quarantine.parquet`` and ``OUT/manifest.json``)
from real corpora in ``../shared/data``. Written without reading distillguard's simulator
or detectors; see README.md for the populations and why each exists.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

#: Where the shared corpora live relative to the repository root.
DEFAULT_DATA = HERE.parents[2] / "shared" / "data"


def generate(out: Path, *, seed: int = 0, scale: float = 1.0, data: Path = DEFAULT_DATA) -> dict:
    """Generate one seeded event directory at ``out``; returns the manifest."""
    import numpy as np
    import pyarrow.compute as pc
    from _h2_attacks import arbitrage, cot_harvest, hydra
    from _h2_attacks2 import attacks2
    from _h2_benign import ordinary
    from _h2_common import ATTACK_START_US, DAYS, RELEASE_US, START_US
    from _h2_frame import assemble, write
    from _h2_hardneg2 import hard_negatives
    from _h2_world import World

    if not data.is_dir():
        raise SystemExit(f"shared data not found: {data}")
    if not 0 < scale <= 4:
        raise SystemExit(f"--scale must be in (0, 4], got {scale}")
    rng = np.random.default_rng(seed)
    world = World.load(data, np.random.default_rng([seed, 1]))

    def k(x: int) -> int:
        return max(3, round(x * scale))

    pops = [
        *ordinary(np.random.default_rng([seed, 2]), world, scale),
        *hard_negatives(np.random.default_rng([seed, 3]), world, scale),
        cot_harvest(np.random.default_rng([seed, 4]), world, k(60)),
        arbitrage(np.random.default_rng([seed, 5]), world, k(150)),
        hydra(np.random.default_rng([seed, 6]), world, k(1500)),
        *attacks2(np.random.default_rng([seed, 7]), world, scale),
    ]
    events, labels = assemble(rng, pops)
    persona = labels["persona"].to_numpy(zero_copy_only=False)
    counts = {}
    for p in pops:
        name = str(p.accounts["persona"][0])
        c = counts.setdefault(name, {"accounts": 0, "events": 0, "attack": bool(p.accounts["is_attack"][0])})
        c["events"] += p.n_events
    for name in counts:
        counts[name]["accounts"] = int((persona == name).sum())
    manifest = {
        "generator": "bench/holdout2",
        "seed": seed,
        "scale": scale,
        "start": str(np.datetime64(START_US, "us")),
        "days": DAYS,
        "attack_start": str(np.datetime64(ATTACK_START_US, "us")),
        "new_model_release": str(np.datetime64(RELEASE_US, "us")),
        "events": events.num_rows,
        "accounts": labels.num_rows,
        "attack_accounts": int(pc.sum(labels["is_attack"]).as_py()),
        "personas": counts,
    }
    write(out, events, labels, manifest)
    return manifest


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--scale", type=float, default=1.0, help="population scale (1.0 = ~600K events)")
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    a = ap.parse_args(argv)
    t = time.time()
    m = generate(a.out, seed=a.seed, scale=a.scale, data=a.data)
    print(
        f"{a.out}: {m['events']:,} events, {m['accounts']:,} accounts "
        f"({m['attack_accounts']:,} attack) in {time.time() - t:.1f}s"
    )
    for name, c in sorted(m["personas"].items(), key=lambda kv: (not kv[1]["attack"], kv[0])):
        kind = "ATTACK" if c["attack"] else "benign"
        print(f"  {kind} {name:26s} {c['accounts']:6d} accounts {c['events']:8d} events")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
