"""Independent hold-out traffic generator (red team for distillguard's detectors).

    .venv/bin/python bench/holdout/generate.py OUT [--seed 0] [--scale 1.0] [--data ../shared/data]

Writes an event directory from the public record alone, without the project simulator:
``OUT/events/day=YYYY-MM-DD/part-0.parquet`` (exactly ``EVENT_SCHEMA``), ``OUT/labels.parquet``
(``LABELS_SCHEMA``), an empty ``OUT/quarantine.parquet`` and ``OUT/manifest.json``.
Personas: ``benign_*`` populations and hard negatives, and seven attack campaigns whose
tactics differ from a naive simulator (see ``_ho_attacks*.py``). Same seed, same bytes.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import numpy as np  # noqa: E402
import pyarrow.compute as pc  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402
from _ho_attacks import cot_paraphrase_fleet, hydra_reseller, lowslow_fleet, rubric_judge  # noqa: E402
from _ho_attacks2 import forced_language, relay_hijack, release_pivot  # noqa: E402
from _ho_clock import T0_S  # noqa: E402
from _ho_common import Ctx  # noqa: E402
from _ho_corpus import load_corpus  # noqa: E402
from _ho_frame import RELEASE_S, Block, assemble  # noqa: E402
from _ho_net import load_net  # noqa: E402
from _ho_orgs import (  # noqa: E402
    agent_frameworks,
    api_customers,
    enterprise_batch,
    eval_harness,
    redteam_lab,
    startup,
    tutoring_app,
)
from _ho_people import developers, hobbyists, intl_users, private_relay, shared_cards, university, vpn_users  # noqa: E402

from distillguard.schema import EVENT_SCHEMA, LABELS_SCHEMA, QUARANTINE_SCHEMA  # noqa: E402

DEFAULT_DATA = HERE.parents[2] / "shared" / "data"
#: The period is fixed: the new model's release (day 6) must fall inside it with days to spare.
DAYS = 10

PERSONAS: dict[str, Callable[[Ctx], Block]] = {
    "benign_hobbyist": hobbyists,
    "benign_private_relay": private_relay,
    "benign_vpn_user": vpn_users,
    "benign_intl_user": intl_users,
    "benign_developer": developers,
    "benign_family_card": lambda c: shared_cards(c, teams=False),
    "benign_team_card": lambda c: shared_cards(c, teams=True),
    "benign_university_nat": university,
    "benign_api_heavy": lambda c: api_customers(c, reasoning=False),
    "benign_reasoning_app": lambda c: api_customers(c, reasoning=True),
    "benign_tutoring_app": tutoring_app,
    "benign_enterprise_batch": enterprise_batch,
    "benign_eval_harness": eval_harness,
    "benign_agent_framework": agent_frameworks,
    "benign_startup": startup,
    "benign_redteam_lab": redteam_lab,
    "cot_paraphrase_fleet": cot_paraphrase_fleet,
    "hydra_reseller": hydra_reseller,
    "lowslow_fleet": lowslow_fleet,
    "rubric_judge": rubric_judge,
    "forced_language": forced_language,
    "relay_hijack": relay_hijack,
    "release_pivot": release_pivot,
}


def generate(out: Path, *, seed: int = 0, scale: float = 1.0, data: Path = DEFAULT_DATA) -> dict:
    """Write the hold-out event directory to ``out``; returns the manifest."""
    started = time.perf_counter()
    corpus = load_corpus(data)
    net = load_net(Path(data) / "ip_infra")
    blocks = []
    # One child generator per persona: adding a persona does not reshuffle the others.
    children = np.random.SeedSequence(seed).spawn(len(PERSONAS) + 1)
    for (_, fn), ss in zip(PERSONAS.items(), children[1:], strict=True):
        blocks.append(fn(Ctx(np.random.default_rng(ss), corpus, net, DAYS, scale)))
    events, labels = assemble(blocks, np.random.default_rng(children[0]), days=DAYS, t0_s=T0_S)
    assert events.schema.equals(EVENT_SCHEMA, check_metadata=False)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    day = pc.strftime(events["timestamp"], format="%Y-%m-%d").to_numpy(zero_copy_only=False)
    bounds = np.r_[0, np.flatnonzero(day[1:] != day[:-1]) + 1, day.size]
    for lo, hi in itertools.pairwise(bounds):
        d = out / "events" / f"day={day[lo]}"
        d.mkdir(parents=True, exist_ok=True)
        pq.write_table(events.slice(lo, hi - lo), d / "part-0.parquet", compression="zstd")
    pq.write_table(labels.cast(LABELS_SCHEMA), out / "labels.parquet")
    pq.write_table(QUARANTINE_SCHEMA.empty_table(), out / "quarantine.parquet")
    persona = labels["persona"].to_numpy(zero_copy_only=False)
    per_acct = dict(zip(*np.unique(persona, return_counts=True), strict=True))
    acc_persona = dict(zip(labels["account_id"].to_pylist(), persona, strict=True))
    ev_persona = np.vectorize(acc_persona.get, otypes=[object])(
        events["account_id"].to_numpy(zero_copy_only=False)
    )
    per_ev = dict(zip(*np.unique(ev_persona.astype(str), return_counts=True), strict=True))
    manifest = {
        "generator": "bench/holdout/generate.py",
        "seed": seed,
        "scale": scale,
        "days": DAYS,
        "start": events["timestamp"][0].as_py().isoformat(),
        "release_of_atlas-4-think": (T0_S + RELEASE_S),
        "events": events.num_rows,
        "accounts": labels.num_rows,
        "attack_accounts": int(pc.sum(labels["is_attack"]).as_py()),
        "personas": {p: {"accounts": int(per_acct[p]), "events": int(per_ev.get(p, 0))} for p in per_acct},
        "seconds": round(time.perf_counter() - started, 1),
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str))
    return manifest


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--scale", type=float, default=1.0, help="multiplies every persona's account count")
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = ap.parse_args(argv)
    m = generate(args.out, seed=args.seed, scale=args.scale, data=args.data)
    print(
        f"{m['events']:,} events, {m['accounts']:,} accounts "
        f"({m['attack_accounts']} attack) in {m['seconds']} s"
    )
    for p, v in sorted(m["personas"].items()):
        print(f"  {p:28s} {v['accounts']:6d} accounts {v['events']:8d} events")


if __name__ == "__main__":
    main()
