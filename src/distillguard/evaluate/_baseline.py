"""The naive baseline every report is compared against: a per-account volume cut.

Rate limits and "top talkers" lists are what a provider already has; a detector earns its
keep only by beating them. The baseline flags an account when its request count exceeds
the ``quantile`` of request counts among benign accounts. It is deliberately generous:
it is allowed to see which accounts are benign to place its cut, so it shows the best a
single volume threshold can do at a false-positive rate of about ``1 - quantile``.
Its ``flagged_at`` is the time of the request that took the account over the cut, so
time to detection is comparable with the detector's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from distillguard import _engine
from distillguard.evaluate._timing import events


@dataclass(frozen=True)
class BaselineConfig:
    """Parameters of the volume baseline."""

    #: Quantile of benign accounts' request counts above which an account is flagged
    #: (0.99: at most about 1% of benign accounts are flagged).
    quantile: float = 0.99

    def rule(self, threshold: float, source: str) -> str:
        """The rule in words, as printed in every report."""
        return (
            f"flag accounts with more than {threshold:g} requests "
            f"(p{self.quantile * 100:g} of benign accounts' request counts, from {source})"
        )


@dataclass(frozen=True)
class BaselineResult:
    """Per labelled account: request count, decision, and when the cut was crossed."""

    volume: np.ndarray  # float64 request count (the baseline's score)
    flagged: np.ndarray  # bool
    flagged_at_us: np.ndarray  # int64, sentinel when not flagged or unknown
    threshold: float
    rule: str
    source: str


def volumes_from_events(con: Any, files: Sequence[str], account_id: np.ndarray) -> tuple[np.ndarray, int]:
    """Request count per labelled account (0 when it sent none) and the total event count."""
    e = events(con, files)
    counts = e.group_by("account_id").aggregate(n=e.count()).to_pyarrow()
    total = int(np.sum(counts["n"].to_numpy())) if counts.num_rows else 0
    return _align(account_id, counts["account_id"], counts["n"], 0).astype(np.float64), total


def _align(account_id: np.ndarray, keys: pa.ChunkedArray, values: pa.ChunkedArray, fill: int) -> np.ndarray:
    """``values`` looked up by ``keys`` in the order of ``account_id``; ``fill`` where absent."""
    import pyarrow.compute as pc

    if len(keys) == 0:
        return np.full(account_id.size, fill, dtype=np.int64)
    ids = pa.array(account_id.tolist(), pa.string())
    pos = pc.fill_null(pc.index_in(ids, value_set=keys.combine_chunks()), -1).to_numpy()
    found = values.to_numpy().astype(np.int64)
    return np.where(pos >= 0, found[np.maximum(pos, 0)], fill)


def threshold_for(volume: np.ndarray, is_attack: np.ndarray, config: BaselineConfig) -> float:
    """The benign ``quantile`` of request counts (0 when there are no benign accounts)."""
    benign = volume[~is_attack]
    if benign.size == 0:
        return 0.0
    return float(np.quantile(benign, config.quantile, method="higher"))


def crossing_times(con: Any, files: Sequence[str], flagged_ids: list[str], threshold: float) -> pa.Table:
    """For each flagged account, the time of the request that took it over ``threshold``.

    Only the flagged accounts' events are ranked, so the window stays small next to the
    full dataset.
    """
    import ibis

    k = int(np.floor(threshold)) + 1
    e = events(con, files)
    flagged = _engine.arrow_table(
        con, "dg_flagged", pa.table({"account_id": pa.array(flagged_ids, pa.string())})
    )
    e = e.semi_join(flagged, "account_id")
    ranked = e.mutate(rn=ibis.row_number().over(group_by="account_id", order_by="t") + 1)
    return ranked.filter(ranked.rn == k).select("account_id", flagged_us=ranked.t).to_pyarrow()


def run_baseline(
    con: Any,
    files: Sequence[str] | None,
    account_id: np.ndarray,
    is_attack: np.ndarray,
    volume: np.ndarray,
    source: str,
    not_flagged: int,
    config: BaselineConfig,
) -> BaselineResult:
    """Apply the volume cut to per-account ``volume``; crossing times need the events."""
    threshold = threshold_for(volume, is_attack, config)
    flagged = volume > threshold
    flagged_at = np.full(account_id.size, not_flagged, dtype=np.int64)
    if files is not None and con is not None and flagged.any():
        times = crossing_times(con, files, account_id[flagged].tolist(), threshold)
        flagged_at = _align(account_id, times["account_id"], times["flagged_us"], not_flagged)
    return BaselineResult(
        volume=volume,
        flagged=flagged,
        flagged_at_us=flagged_at,
        threshold=threshold,
        rule=config.rule(threshold, source),
        source=source,
    )
