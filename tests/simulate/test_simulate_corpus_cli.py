"""--corpus draws real prompts and IP ranges; the CLI wraps the Python API."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
from typer.testing import CliRunner

from distillguard.simulate import simulate
from distillguard.simulate._netranges import NetRanges


def test_corpus_draws_real_prompts_and_ranges(shared_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "corp"
    simulate("tiny", out, seed=0, corpus=shared_data, progress=False)
    ev = pl.read_parquet(str(out / "events" / "**" / "*.parquet"))
    gsm = {
        json.loads(x)["question"]
        for x in (shared_data / "reasoning_code_tasks" / "gsm8k_train_questions.jsonl").open()
    }
    share_gpt = {
        json.loads(x)["prompt"]
        for x in (shared_data / "benign_prompts" / "sharegpt_first_turn_prompts.jsonl").open()
    }
    prompts = ev["prompt"]
    assert prompts.str.contains_any(list(gsm)[:2000]).sum() > 0 or prompts.is_in(list(gsm)).sum() > 0
    assert prompts.is_in(list(share_gpt)).sum() > 50
    nets = NetRanges.from_corpus(shared_data)
    assert "tor" in nets.source and len(nets.tables["hosting"]) > 1000
    m = json.loads((out / "manifest.json").read_text())
    assert m["corpus"]["benign"] > 1000 and m["network_ranges"].startswith("corpus:")


def test_cli_simulate(tmp_path: Path) -> None:
    from distillguard.cli import app

    out = tmp_path / "cli"
    res = CliRunner().invoke(
        app, ["simulate", "--scenario", "tiny", "--out", str(out), "--seed", "3", "--quiet"]
    )
    assert res.exit_code == 0, res.output
    m = json.loads((out / "manifest.json").read_text())
    assert m["seed"] == 3 and m["events"] == 34_500
    assert (out / "events").is_dir() and (out / "labels.parquet").is_file()


def test_public_api_surface() -> None:
    import distillguard
    import distillguard.simulate as sim

    assert sorted(sim.__all__) == ["SimulationResult", "available_scenarios", "load_scenario", "simulate"]
    assert {"tiny", "small", "medium", "seed"} <= set(sim.available_scenarios())
    assert distillguard.simulate is sim and callable(sim.simulate)  # the attribute is the module
    seed = sim.load_scenario("seed")
    attack = sum(p.events for p in seed.personas if not p.persona.startswith("benign"))
    attack_accounts = sum(p.accounts for p in seed.personas if not p.persona.startswith("benign"))
    assert attack == 16_000_000 and 23_000 <= attack_accounts <= 25_000
    assert seed.total_events - attack >= 34_000_000
