"""The enrich commands, through a Typer app that registers only them."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import typer
from typer.testing import CliRunner

from distillguard.enrich._cli import register
from distillguard.errors import DistillguardError


@pytest.fixture()
def app() -> typer.Typer:
    a = typer.Typer()
    register(a)
    return a


def test_ip_info_prints_kinds(app: typer.Typer) -> None:
    result = CliRunner().invoke(app, ["ip-info", "10.0.0.1", "52.1.2.3"])
    assert result.exit_code == 0, result.output
    assert "private" in result.output and "hosting" in result.output and "16509" in result.output


def test_enrich_parquet_one_pass_and_batched(app: typer.Typer, tmp_path: Path) -> None:
    src = tmp_path / "ev.parquet"
    pq.write_table(
        pa.table(
            {
                "event_id": ["a", "b", "c"],
                "client_ip": ["10.0.0.1", "52.1.2.3", None],
                "prompt": ["think step by step", "hello", None],
            }
        ),
        src,
    )
    for extra in ([], ["--batch-rows", "2"]):
        out = tmp_path / f"out{len(extra)}.parquet"
        result = CliRunner().invoke(app, ["enrich", str(src), "--out", str(out), *extra])
        assert result.exit_code == 0, result.output
        got = pq.read_table(out)
        assert got.column("ip_kind").to_pylist() == ["private", "hosting", "unknown"]
        assert got.column("tag_cot").to_pylist() == [True, False, False]
        assert "capability" in result.output


def test_enrich_missing_input_is_a_user_error(app: typer.Typer, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["enrich", str(tmp_path / "nope"), "--out", str(tmp_path / "o.parquet")])
    assert isinstance(result.exception, DistillguardError)
