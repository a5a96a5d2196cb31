"""``enforcement.csv``: the accounts to act on, in the order to act on them.

``attack`` accounts get action ``block``; ``suspicious`` ones ``review`` (a human looks
before anything happens, because banning a paying customer is the costliest mistake).
Built column-wise with pyarrow so a list of hundreds of thousands of accounts costs no
Python loop. Values are written verbatim (quoted where CSV needs it): account ids must
round-trip exactly into the enforcement system that consumes the file.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from distillguard.report._scan import load_scan

#: How many of an account's reasons (most important first) go into ``top_reasons``.
TOP_REASONS = 3

#: Verdict -> action written to the file; verdicts not listed are not acted on.
ACTIONS: dict[str, str] = {"attack": "block", "suspicious": "review"}

COLUMNS: tuple[str, ...] = (
    "account_id",
    "verdict",
    "action",
    "score",
    "campaign_id",
    "top_reasons",
    "flagged_at",
)


def enforcement_table(accounts: pa.Table, *, top_reasons: int = TOP_REASONS) -> pa.Table:
    """The enforcement rows of ``accounts``: attack first, then suspicious, by score."""
    import pyarrow.compute as pc

    acted = accounts.filter(pc.is_in(accounts["verdict"], pa.array(list(ACTIONS))))
    action = pc.if_else(pc.equal(acted["verdict"], "attack"), "block", "review")
    rank = pc.if_else(pc.equal(acted["verdict"], "attack"), 0, 1)
    reasons = pc.fill_null(
        pc.binary_join(pc.list_slice(acted["reasons"], 0, top_reasons), "; "),
        "",
    )
    # Whole seconds: pyarrow's %S would print microseconds, noise in an enforcement list.
    seconds = pc.cast(acted["flagged_at"], pa.timestamp("s", tz="UTC"), safe=False)
    flagged = pc.strftime(seconds, format="%Y-%m-%dT%H:%M:%SZ")
    table = pa.table(
        {
            "account_id": acted["account_id"],
            "verdict": acted["verdict"],
            "action": action,
            "score": pc.round(acted["score"], 6),
            "campaign_id": acted["campaign_id"],
            "top_reasons": reasons,
            "flagged_at": flagged,
            "_rank": rank,
        }
    )
    table = table.sort_by([("_rank", "ascending"), ("score", "descending"), ("account_id", "ascending")])
    return table.drop_columns(["_rank"])


def write_enforcement_csv(scan_dir: Path | str) -> Path:
    """Write ``scan_dir/enforcement.csv`` and return its path."""
    import pyarrow.csv as pcsv

    scan = load_scan(Path(scan_dir))
    table = enforcement_table(scan.accounts)
    path = scan.path / "enforcement.csv"
    pcsv.write_csv(table, path, write_options=pcsv.WriteOptions(quoting_style="needed"))
    return path
