"""Throughput on 1M events with real prompts and real-feed IP annotation (slow)."""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from distillguard.enrich import IpInfra, enrich

#: The issue's floor for the IP part on this 2-core machine, events per second.
IP_EVENTS_PER_S_FLOOR = 200_000
N_EVENTS = 1_000_000


def _events(corpus: Callable[[str], list[str]], n: int, seed: int = 0) -> pa.Table:
    rng = np.random.default_rng(seed)
    pool = [
        p
        for name in ("sharegpt", "arena_hard", "gsm8k_train", "competition_math", "mbpp", "alpaca_libre")
        for p in corpus(name)
    ]
    prompts = pa.array(pool).take(pa.array(rng.integers(0, len(pool), n)))
    ip_pool = [str(ipaddress.IPv4Address(int(v))) for v in rng.integers(1 << 24, 223 << 24, 200_000)]
    ip_pool += [f"2001:db8:{i:x}::1" for i in range(500)]
    ips = pa.array(ip_pool).take(pa.array(rng.integers(0, len(ip_pool), n)))
    return pa.table({"event_id": pa.array(np.arange(n).astype(str)), "client_ip": ips, "prompt": prompts})


@pytest.mark.slow
def test_throughput_1m_events(corpus: Callable[[str], list[str]], shared_data: Path) -> None:
    events = _events(corpus, N_EVENTS)
    infra = IpInfra.from_dir(shared_data / "ip_infra")
    t0 = time.perf_counter()
    infra.annotate(events.column("client_ip"))
    ip_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    out = enrich(events, infra)
    all_s = time.perf_counter() - t0
    print(
        f"\n{N_EVENTS:,} events: IP part {N_EVENTS / ip_s:,.0f} ev/s ({ip_s:.2f} s); "
        f"full enrich {N_EVENTS / all_s:,.0f} ev/s ({all_s:.2f} s); "
        f"{pa.compute.count_distinct(events.column('prompt')).as_py():,} distinct prompts"
    )
    assert out.num_rows == N_EVENTS
    assert N_EVENTS / ip_s > IP_EVENTS_PER_S_FLOOR
