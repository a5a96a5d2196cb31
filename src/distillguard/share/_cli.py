"""``distillguard share ...`` commands (import-light: the work happens inside each command)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from distillguard._cli_common import (
    JsonOpt,
    Output,
    OverwriteOpt,
    QuietOpt,
    VerboseOpt,
    check_out_dir,
    check_out_file,
)

share_app = typer.Typer(
    name="share",
    help="Share keyed indicators with other providers (STIX 2.1 / TAXII 2.1). See docs/sharing.md.",
    no_args_is_help=True,
)

KeyOpt = Annotated[Path, typer.Option("--key-file", "-k", help="Sharing-group key file (share keygen).")]
ConfigOpt = Annotated[Path | None, typer.Option("--config", help="Sharing config (TOML/YAML/JSON).")]
IdentityOpt = Annotated[str | None, typer.Option("--identity", help="Our provider name (else from config).")]
TlpOpt = Annotated[
    str | None, typer.Option("--tlp", help="TLP 2.0 level: clear|green|amber|amber+strict|red.")
]


def _table(title: str, rows: list[tuple[str, object]], output: Output | None = None) -> None:
    """The command's summary: a two-column table, or with ``--json`` the same pairs as an object."""
    output = output or Output()
    output.emit({k: v if isinstance(v, int | float | type(None)) else str(v) for k, v in rows})
    if not output.human:
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, show_header=False)
    for k, v in rows:
        table.add_row(k, str(v))
    Console().print(table)


def _taxii_target(server: str | None, collection: str | None, config: Path | None) -> tuple[str, str]:
    from distillguard.errors import DistillguardError
    from distillguard.share._config import load_config

    taxii = load_config(config).taxii
    server = server or taxii.get("server")
    collection = collection or taxii.get("collection")
    if not server or not collection:
        raise DistillguardError(
            "TAXII server and collection needed: --server URL --collection ID (or config)"
        )
    return str(server), str(collection)


@share_app.command("keygen")
def keygen_cmd(
    out: Annotated[Path, typer.Option("--out", "-o", help="Key file to write (mode 0600).")],
    rotate: Annotated[
        Path | None, typer.Option("--rotate", help="Old key file: its keys become 'previous'.")
    ] = None,
    lifetime_days: Annotated[int, typer.Option(help="Days until the new key expires.")] = 365,
    keep_previous_days: Annotated[
        int | None, typer.Option(help="Cap on how long the retired key stays accepted.")
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", "--overwrite", help="Overwrite an existing file.")
    ] = False,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
    json: JsonOpt = False,
) -> None:
    """Generate a sharing-group key with a fresh key id (distribute it out of band)."""
    from distillguard.share._keys import generate_key

    output = Output.of(quiet, verbose, json)

    ring = generate_key(
        out,
        rotate=rotate,
        lifetime_days=lifetime_days,
        keep_previous_days=keep_previous_days,
        overwrite=force,
    )
    _table(
        "sharing key",
        [
            ("file", out),
            ("key_id", ring.current.key_id),
            ("expires", ring.current.expires),
            ("previous keys", ", ".join(k.key_id for k in ring.previous) or "-"),
        ],
        output,
    )


@share_app.command("export")
def export_cmd(
    scan: Annotated[Path, typer.Option("--scan", help="Scan output directory.")],
    key_file: KeyOpt,
    out: Annotated[Path, typer.Option("--out", "-o", help="Bundle file to write.")],
    overwrite: OverwriteOpt = False,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
    json: JsonOpt = False,
    events: Annotated[
        list[Path] | None, typer.Option("--events", help="Event dir(s); default: scan_meta.json inputs.")
    ] = None,
    identity: IdentityOpt = None,
    config: ConfigOpt = None,
    tlp: TlpOpt = None,
    share_ips: Annotated[
        bool,
        typer.Option(
            "--share-ips", help="Also export client IPs and /24s (every group member can read them)."
        ),
    ] = False,
) -> None:
    """Export the scan's campaigns, pooled suspicious evidence and frame families as keyed
    STIX 2.1 indicators."""
    output = Output.of(quiet, verbose, json)
    check_out_file(out, overwrite=overwrite)
    from distillguard.share._export import ExportParams, export_bundle

    res = export_bundle(
        scan,
        key_file=key_file,
        out=out,
        events=events or None,
        identity=identity,
        config=config,
        tlp=tlp,
        params=ExportParams(share_ips=share_ips),
    )
    rows: list[tuple[str, object]] = [
        ("bundle", res.path),
        ("campaigns", res.campaigns),
        ("suspicious groups", res.levels.get("suspicious", 0)),
        ("frame families", res.levels.get("family", 0)),
        ("indicators", res.indicators),
        ("objects", res.objects),
    ]
    rows += [
        (f"{k} values", f"{v} (withheld as common: {res.withheld_common.get(k, 0)})")
        for k, v in res.values_by_kind.items()
    ]
    _table("share export", rows, output)


@share_app.command("push")
def push_cmd(
    bundles: Annotated[list[Path], typer.Argument(help="Bundle files to push.")],
    server: Annotated[
        str | None, typer.Option("--server", help="TAXII 2.1 API root (or discovery) URL.")
    ] = None,
    collection: Annotated[str | None, typer.Option("--collection", help="Collection id.")] = None,
    config: ConfigOpt = None,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
    json: JsonOpt = False,
) -> None:
    """Push bundles to a TAXII 2.1 collection (credentials: DISTILLGUARD_TAXII_USER/_PASSWORD)."""
    from distillguard.share._taxii import push

    output = Output.of(quiet, verbose, json)
    server, collection = _taxii_target(server, collection, config)
    res = push(bundles, server=server, collection=collection, config=config)
    _table(
        "share push",
        [
            ("objects", res.objects),
            ("accepted", res.succeeded),
            ("rejected or already present", res.failed),
            ("envelopes", res.envelopes),
            ("left out (extension-definition)", res.skipped),
        ],
        output,
    )


@share_app.command("pull")
def pull_cmd(
    out: Annotated[Path, typer.Option("--out", "-o", help="Directory (or .json file) for pulled bundles.")],
    server: Annotated[
        str | None, typer.Option("--server", help="TAXII 2.1 API root (or discovery) URL.")
    ] = None,
    collection: Annotated[str | None, typer.Option("--collection", help="Collection id.")] = None,
    state_file: Annotated[
        Path | None, typer.Option("--state-file", help="Remembers X-TAXII-Date-Added-Last between pulls.")
    ] = None,
    added_after: Annotated[
        str | None, typer.Option("--added-after", help="Override the saved state.")
    ] = None,
    page_size: Annotated[int, typer.Option(help="Objects per page requested.")] = 100,
    config: ConfigOpt = None,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
    json: JsonOpt = False,
) -> None:
    """Pull new objects from a TAXII 2.1 collection, following pagination; resumable."""
    from distillguard.share._config import load_config
    from distillguard.share._taxii import pull

    output = Output.of(quiet, verbose, json)
    server, collection = _taxii_target(server, collection, config)
    state = state_file or load_config(config).taxii.get("state_file")
    res = pull(
        server=server,
        collection=collection,
        out=out,
        config=config,
        state_file=state,
        added_after=added_after,
        page_size=page_size,
    )
    _table(
        "share pull",
        [
            ("objects", res.objects),
            ("pages", res.pages),
            ("written to", res.path or "-"),
            ("added_after used", res.added_after or "-"),
            ("date added last", res.date_added_last or "-"),
        ],
        output,
    )


@share_app.command("match")
def match_cmd(
    inputs: Annotated[list[Path], typer.Argument(help="Local event dirs / Parquet files.")],
    intel: Annotated[list[Path], typer.Option("--intel", help="Partner bundle file(s) or directories.")],
    key_file: KeyOpt,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output directory.")],
    overwrite: OverwriteOpt = False,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
    json: JsonOpt = False,
    identity: IdentityOpt = None,
    config: ConfigOpt = None,
    tlp: TlpOpt = None,
    min_jaccard: Annotated[float, typer.Option(help="Template match threshold (Jaccard estimate).")] = 0.7,
    strict_intel: Annotated[
        bool, typer.Option("--strict-intel", help="A skipped intel file or indicator is an error (exit 2).")
    ] = False,
) -> None:
    """Match partners' indicators against local events; write matches and STIX sightings."""
    output = Output.of(quiet, verbose, json)
    check_out_dir(out, marker="matches.parquet", what="share match output", overwrite=overwrite)
    from rich.console import Console

    from distillguard.share._config import load_config
    from distillguard.share._match import match
    from distillguard.share._sketch import SketchParams

    res = match(
        intel,
        inputs,
        key_file=key_file,
        out=out,
        identity=identity,
        config=config,
        tlp=tlp,
        sketch=SketchParams(min_jaccard=min_jaccard),
        strict=strict_intel or load_config(config).strict_intel,
    )
    _table(
        "share match",
        [
            ("indicators used", res.indicators),
            ("matched accounts", res.accounts),
            ("partners", res.partners),
            ("sightings", res.sightings),
            ("skipped", ", ".join(f"{k}={v}" for k, v in sorted(res.skipped.items())) or "-"),
            ("written to", res.out),
        ],
        output,
    )
    if len(res.matches) and output.human:
        Console().print(match_table(res.matches))


def match_table(matches: Any, limit: int = 20) -> Any:
    """The first ``limit`` matches as a Rich table; ids and partner names escaped and cut.

    Account ids come from logs and partner names from partners' bundles: neither may carry
    Rich markup or control characters onto an analyst's terminal.
    """
    from rich.table import Table
    from rich.text import Text

    from distillguard.report._display import display_id

    table = Table(title=f"matched accounts (first {limit})")
    for col in ("account", "partner", "kind", "values", "events"):
        table.add_column(col)
    for row in matches.slice(0, limit).to_pylist():
        table.add_row(
            Text(display_id(row["account_id"])),
            Text(display_id(row["partner_name"])),
            Text(str(row["kind"])),
            str(row["matched_values"]),
            f"{row['events']}/{row['account_events']}",
        )
    return table


def register(app: typer.Typer) -> None:
    """Attach ``distillguard share`` to the main app."""
    app.add_typer(share_app, name="share")
