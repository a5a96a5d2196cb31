"""The load's read-ahead thread keeps order, raises the reader's errors, and stops with the consumer."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pyarrow as pa
import pytest

from distillguard.errors import DistillguardError
from distillguard.features._source import _prefetched


def _tables(n: int, fail_at: int | None = None, seen: list[int] | None = None) -> Iterator[pa.Table]:
    for i in range(n):
        if i == fail_at:
            raise DistillguardError(f"bad batch {i}")
        if seen is not None:
            seen.append(i)
        yield pa.table({"i": [i]})


def test_order_is_kept() -> None:
    assert [t["i"][0].as_py() for t in _prefetched(_tables(50), depth=3)] == list(range(50))


def test_a_reader_error_is_raised_in_the_consumer_after_the_good_tables() -> None:
    got: list[int] = []
    with pytest.raises(DistillguardError, match="bad batch 7"):
        for t in _prefetched(_tables(20, fail_at=7)):
            got.append(t["i"][0].as_py())
    assert got == list(range(7))


def test_a_consumer_that_stops_stops_the_reader() -> None:
    seen: list[int] = []
    gen = _prefetched(_tables(10_000, seen=seen), depth=1)
    assert next(gen)["i"][0].as_py() == 0
    gen.close()  # what a failing consumer's loop does
    assert not any(t.name == "dg-ingest" for t in threading.enumerate())
    assert len(seen) <= 3  # one handed out, one queued, one being put when told to stop
