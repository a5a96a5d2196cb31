"""Generate hold-out-5 traffic: an event directory (schema v1), labels.parquet and manifest.json.

    .venv/bin/python bench/holdout5/generate.py OUT --seed N [--scale S] [--data ../shared/data]

Written apart from distillguard's detectors, scoring, campaign linker and simulator (see
README.md). Each population draws from its own random stream (seed, population name), so
changing one population does not reshuffle the others.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import _h5_pop  # noqa: E402
from _h5_world import Events, World  # noqa: E402

DEFAULT_DATA = HERE.parents[2] / "shared" / "data"


def generate(
    out: Path, seed: int = 0, scale: float = 1.0, data: Path = DEFAULT_DATA, world: World | None = None
) -> dict:
    """Write one dataset to ``out`` (replaced if it exists) and return its manifest."""
    out = Path(out)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    w = world or World.load(Path(data))
    ev = Events(seed)

    def rng_for(name: str) -> np.random.Generator:
        key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "little")
        return np.random.default_rng([seed, key])

    for name, gen in _h5_pop.POPULATIONS:
        gen(ev, w, rng_for(name), scale)
    _h5_pop.gen_adaptive(ev, w, rng_for, scale)
    return ev.write(out, seed, {"scale": scale})


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    a = ap.parse_args(argv)
    if not a.data.is_dir():
        print(f"error: {a.data} is not a directory (the shared corpora)", file=sys.stderr)
        return 2
    t = time.time()
    m = generate(a.out, a.seed, a.scale, a.data)
    print(f"{m['events']:,} events, {m['accounts']:,} accounts in {time.time() - t:.0f}s -> {a.out}")
    for p, c in sorted(m["personas"].items()):
        print(
            f"  {p:28s} {'attack' if c['attack'] else 'benign':6s} "
            f"{c['accounts']:6,} accounts {c['events']:9,} events"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
