"""Delta Lake and Iceberg tables as inputs (the ``lake`` extra), with the real libraries."""

from __future__ import annotations

import builtins
import json
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from distillguard.errors import DistillguardError, UnreadableInputError
from distillguard.ingest import ingest, iter_event_batches
from distillguard.ingest._lake import iceberg_metadata_file
from distillguard.ingest._sources import expand_inputs

from .conftest import make_rows

deltalake = pytest.importorskip("deltalake")
pytest.importorskip("pyiceberg")


def _arrow(rows: list[dict]) -> pa.Table:
    table = pa.Table.from_pylist(rows)
    # Iceberg has no unsigned or 8/16-bit types; plain int64 / string suit both formats
    return table.cast(pa.schema([pa.field(f.name, f.type) for f in table.schema]))


def _delta_two_versions(path: Path) -> tuple[list[dict], list[dict]]:
    """Version 0 with rows old*, version 1 overwriting them with rows new* (old files stay on disk)."""
    old = make_rows(6, prefix="old")
    new = [dict(r, account_id=f"new-{i % 2}") for i, r in enumerate(make_rows(4, prefix="new"))]
    deltalake.write_deltalake(str(path), _arrow(old))
    deltalake.write_deltalake(str(path), _arrow(new), mode="overwrite")
    return old, new


def test_delta_table_gives_only_the_current_version(tmp_path: Path) -> None:
    table = tmp_path / "logs_delta"
    _old, new = _delta_two_versions(table)
    # both versions' data files are on disk: read as loose Parquet they would be 10 rows
    assert sum(pq.read_metadata(f).num_rows for f in table.glob("*.parquet")) == 10
    files, _ = expand_inputs([table])
    assert [(f.path, f.container) for f in files] == [(table, "delta")]
    res = ingest([table], tmp_path / "out")
    assert (res.rows_read, res.accepted, res.quarantined, res.accounts) == (4, 4, 0, 2)
    ids = pq.read_table(tmp_path / "out" / "events", columns=["event_id"]).column(0).to_pylist()
    assert sorted(ids) == sorted(r["event_id"] for r in new)


def test_table_found_inside_a_walked_directory_is_read_once_as_a_table(tmp_path: Path) -> None:
    _delta_two_versions(tmp_path / "logs" / "gateway_delta")
    pq.write_table(_arrow(make_rows(3, prefix="loose")), tmp_path / "logs" / "loose.parquet")
    files, _ = expand_inputs([tmp_path / "logs"])
    assert sorted((f.path.name, f.container) for f in files) == [
        ("gateway_delta", "delta"),
        ("loose.parquet", "parquet"),
    ]
    accepted = [b for b, _ in iter_event_batches([tmp_path / "logs"])]
    ids = {i for b in accepted for i in b.column("event_id").to_pylist()}
    assert ids == {f"new{i}" for i in range(4)} | {f"loose{i}" for i in range(3)}


def test_scan_reads_a_delta_table(tmp_path: Path) -> None:
    from distillguard.scan import scan

    table = tmp_path / "logs_delta"
    _, new = _delta_two_versions(table)
    res = scan([table], tmp_path / "scan", progress=False, replay=False, report=False)
    assert res.meta["events"] == len(new)
    assert sorted(res.accounts["account_id"].to_pylist()) == ["new-0", "new-1"]


def test_delta_batches_are_bounded(tmp_path: Path) -> None:
    table = tmp_path / "t"
    deltalake.write_deltalake(str(table), _arrow(make_rows(50)))
    sizes = [b.num_rows for b, _ in iter_event_batches([table], batch_rows=8)]
    assert sum(sizes) == 50 and max(sizes) <= 8


def _iceberg_table(tmp_path: Path, rows: list[dict], *, appends: int = 1) -> Path:
    from pyiceberg.catalog.sql import SqlCatalog

    warehouse = tmp_path / "warehouse"
    warehouse.mkdir()
    catalog = SqlCatalog("test", uri=f"sqlite:///{tmp_path / 'catalog.db'}", warehouse=f"file://{warehouse}")
    catalog.create_namespace("logs")
    data = _arrow(rows)
    table = catalog.create_table("logs.events", schema=data.schema)
    per = -(-len(rows) // appends)
    for i in range(appends):
        table.append(data.slice(i * per, per))
    return Path(table.metadata_location.removeprefix("file://")).parent.parent


def test_iceberg_table_read_from_its_directory_without_a_catalog(tmp_path: Path) -> None:
    rows = make_rows(7, prefix="ice")
    root = _iceberg_table(tmp_path, rows, appends=2)
    (tmp_path / "catalog.db").unlink()  # no catalog: the table is found from its own files
    files, _ = expand_inputs([root])
    assert [(f.path, f.container) for f in files] == [(root, "iceberg")]
    # the current metadata file is the last append's, not the table creation's
    current = iceberg_metadata_file(root)
    assert current.name.startswith("00002-")
    res = ingest([root], tmp_path / "out")
    assert (res.rows_read, res.accepted, res.accounts) == (7, 7, 3)
    # a metadata file named directly reads that version: the first append only
    first = sorted((root / "metadata").glob("00001-*.metadata.json"))[0]
    res = ingest([first], tmp_path / "out1")
    assert res.accepted == 4
    # --format iceberg forces it; a walk over the warehouse finds the table once
    assert ingest([root], tmp_path / "out2", format="iceberg").accepted == 7
    assert ingest([tmp_path / "warehouse"], tmp_path / "out3").accepted == 7


def test_iceberg_version_hint_wins(tmp_path: Path) -> None:
    root = _iceberg_table(tmp_path, make_rows(6, prefix="ice"), appends=2)
    first = sorted((root / "metadata").glob("00001-*.metadata.json"))[0]
    (root / "metadata" / "version-hint.text").write_text(first.name.removesuffix(".metadata.json"))
    assert iceberg_metadata_file(root) == first
    assert ingest([root], tmp_path / "out").accepted == 3


def test_corrupt_delta_log_is_one_line(tmp_path: Path) -> None:
    table = tmp_path / "broken"
    deltalake.write_deltalake(str(table), _arrow(make_rows(3)))
    log = next((table / "_delta_log").glob("*.json"))
    log.write_text("{not json\n")
    with pytest.raises(UnreadableInputError) as info:
        ingest([table], tmp_path / "out")
    message = str(info.value)
    assert str(table) in message and "\n" not in message
    assert not (tmp_path / "out" / "events").exists()


def test_corrupt_iceberg_metadata_is_one_line(tmp_path: Path) -> None:
    root = tmp_path / "ice"
    (root / "metadata").mkdir(parents=True)
    (root / "metadata" / "v1.metadata.json").write_text(json.dumps({"format-version": 2}))
    with pytest.raises(UnreadableInputError) as info:
        ingest([root], tmp_path / "out")
    assert "\n" not in str(info.value) and str(root) in str(info.value)


def test_missing_library_names_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    table = tmp_path / "t"
    deltalake.write_deltalake(str(table), _arrow(make_rows(3)))
    real_import = builtins.__import__

    def no_deltalake(name: str, *args: object, **kwargs: object) -> object:
        if name == "deltalake" or name.startswith("deltalake."):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_deltalake)
    monkeypatch.setattr("importlib.import_module", lambda name: no_deltalake(name))
    with pytest.raises(
        DistillguardError, match=r"needs the deltalake package: pip install 'distillguard\[lake\]'"
    ):
        ingest([table], tmp_path / "out")


def test_cli_ingest_delta_table(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from distillguard.cli import app

    table = tmp_path / "logs_delta"
    _delta_two_versions(table)
    result = CliRunner().invoke(app, ["ingest", str(table), "--out", str(tmp_path / "out"), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["accepted"] == 4
    # a table whose log is garbage, on the command line: one line on stderr, exit 2
    log = next((table / "_delta_log").glob("*.json"))
    log.write_text("{not json\n")
    proc = subprocess.run(
        [
            str(Path(sys.executable).with_name("distillguard")),
            "ingest",
            str(table),
            "--out",
            str(tmp_path / "o2"),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0
    assert "logs_delta" in proc.stderr and "Traceback" not in proc.stderr


def test_delta_table_with_deletion_vectors_is_read_by_the_delta_scan(tmp_path: Path) -> None:
    """pyarrow datasets cannot apply deletion vectors: such a table goes through delta-rs's scan."""
    from distillguard.ingest._lake import open_table
    from distillguard.ingest._sources import SourceFile

    table = tmp_path / "dv"
    config = {"delta.enableDeletionVectors": "true"}
    deltalake.write_deltalake(str(table), _arrow(make_rows(5)), configuration=config)
    deltalake.DeltaTable(str(table)).delete("event_id = 'e1'")
    assert open_table(SourceFile(table, "delta"))[0] == "scan"
    ids = {i for b, _ in iter_event_batches([table]) for i in b.column("event_id").to_pylist()}
    assert ids == {"e0", "e2", "e3", "e4"}
