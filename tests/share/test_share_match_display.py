"""``share match`` prints ids from logs and names from partners' bundles: escaped, never markup."""

from __future__ import annotations

import pyarrow as pa
from rich.console import Console

from distillguard.share._cli import match_table


def test_match_table_escapes_hostile_ids_and_names():
    matches = pa.table(
        {
            "account_id": ["acct\nforged-row", "[bold red]admin[/bold red]", "x" * 500],
            "partner_name": ["Partner\x1b[31m", "ok", "ok"],
            "kind": ["payment", "ip", "frame"],
            "matched_values": [1, 2, 3],
            "events": [1, 2, 3],
            "account_events": [5, 5, 5],
        }
    )
    console = Console(record=True, width=400, color_system=None)
    console.print(match_table(matches))
    text = console.export_text()
    assert "acct\\nforged-row" in text  # the newline shown escaped, not splitting the row
    assert "forged-row" not in text.replace("acct\\nforged-row", "")
    assert "[bold red]admin[/bold red]" in text  # markup shown literally, not applied
    assert "\x1b" not in text  # the escape byte never reaches the terminal
    assert "x" * 500 not in text  # cut
