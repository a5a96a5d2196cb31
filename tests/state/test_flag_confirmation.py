"""``confirm_increments``: flagged_at only once consecutive scorings agree (no scan needed).

A verdict history is written straight into a state with :meth:`StateStore.record_verdicts`,
so each case is worked out by hand: increments 1-5 an hour apart, account ``a`` an attack at
1, suspicious at 2, an attack again at 3-5; ``b`` an attack at 1 only (a one-hour flicker);
``c`` an attack at 4-5.
"""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from distillguard.errors import DistillguardError
from distillguard.state import StateParams, run_increment
from distillguard.state._store import StateStore

T0 = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
HISTORY = {
    "a": ["attack", "suspicious", "attack", "attack", "attack"],
    "b": ["attack", "clear", "clear", "clear", "clear"],
    "c": ["clear", "clear", "clear", "attack", "attack"],
}
COUNTS = {"events_new": 1, "events_late": 0, "too_late": 0, "duplicates": 0, "quarantined": 0}


def wm(i: int) -> dt.datetime:
    return T0 + dt.timedelta(hours=i)


def _record(store: StateStore, increments: range, confirm: int) -> dict:
    flagged: dict = {}
    for i in increments:
        if i not in {inc.id for inc in store.increments()}:
            store.commit(i, watermark=wm(i), counts=COUNTS, files=[], rejected=None)
        accounts = pa.table(
            {
                "account_id": list(HISTORY),
                "verdict": [h[i - 1] for h in HISTORY.values()],
                "score": [0.7] * len(HISTORY),
                "campaign_id": pa.nulls(len(HISTORY), pa.string()),
            }
        )
        flagged = store.record_verdicts(i, accounts, {}, confirm=confirm)
    return flagged


@pytest.mark.parametrize(
    ("confirm", "expected"),
    [
        (1, {"a": wm(1), "c": wm(4)}),  # the first attack verdict, kept through a's dip at 2
        (2, {"a": wm(4), "c": wm(5)}),  # a's run 3-5 confirms at 4; b's one hour never does
        (3, {"a": wm(5)}),  # c's two scorings are not three yet
    ],
)
def test_flagged_at_waits_for_consecutive_attack_verdicts(tmp_path, confirm, expected) -> None:
    store = StateStore(tmp_path / "state")
    try:
        assert _record(store, range(1, 6), confirm) == expected
        # replay from after increment 3: the kept history's flagged_at is rebuilt with the same
        # rule, and re-scoring 4-5 gives the same answer as the first pass
        store.forget_after(wm(3), confirm=confirm)
        kept = dict(store.con.execute("SELECT account_id, flagged_at FROM verdicts").fetchall())
        assert kept["a"] == (wm(1) if confirm == 1 else None)
        assert kept["b"] == (wm(1) if confirm == 1 else None)
        assert _record(store, range(4, 6), confirm) == expected
    finally:
        store.close()


def test_confirm_increments_below_one_is_refused(tmp_path) -> None:
    with pytest.raises(DistillguardError, match="confirm_increments"):
        run_increment(tmp_path / "state", [], params=StateParams(confirm_increments=0))
