"""Client software seen on the wire: user agents and JA4 TLS fingerprints.

Common fingerprints are shared by huge benign populations (every Chrome, every user of the
official Python SDK), so a shared fingerprint alone proves nothing; a rare custom one
shared across a fleet does. Both appear here.
"""

from __future__ import annotations

import numpy as np

#: JA4 strings of widespread clients (format of JA4: proto+version+SNI+counts+ALPN_hashes).
JA4_COMMON = {
    "chrome": "t13d1516h2_8daaf6152771_02713d6af862",
    "firefox": "t13d1715h2_5b57614c22b0_3d5424432f57",
    "safari": "t13d2014h2_a09f3c656075_14788d8d241b",
    "python": "t13d1812h1_85036bcba153_375ca2c5e164",
    "node": "t13d1713h2_5b57614c22b0_f0b1cf4f3c3e",
    "go": "t13d1311h2_f57a46bbacb6_ab7e3b40a677",
    "curl": "t13d3112h2_e8f1e7e78f70_6bebaf5329ac",
    "okhttp": "t13d1614h2_e7c285222651_4ebf4f7a5ad7",
}
UA = {
    "chrome": (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.0.0 Safari/537.36",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/132.0.0.0 Safari/537.36",
    ),
    "firefox": ("Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",),
    "safari": (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/18.2 Mobile/15E148 Safari/604.1",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_7_2) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/18.2 Safari/605.1.15",
    ),
    "python": (
        "atlas-python/2.3.1 (CPython 3.11.9; Linux)",
        "atlas-python/2.4.0 (CPython 3.12.7; Darwin)",
        "atlas-python/2.2.7 (CPython 3.10.14; Linux)",
        "langchain-atlas/0.3.2 atlas-python/2.3.1",
        "python-httpx/0.27.2",
    ),
    "node": ("atlas-node/1.9.0 (node v22.11.0)", "atlas-node/1.8.4 (node v20.18.0)"),
    "go": ("Go-http-client/2.0",),
    "curl": ("curl/8.5.0",),
    "okhttp": ("okhttp/4.12.0",),
}
BROWSERS = ("chrome", "chrome", "chrome", "safari", "safari", "firefox")
SDKS = ("python", "python", "python", "node", "go")


def pick_clients(rng: np.random.Generator, kinds: tuple[str, ...], n: int) -> tuple[np.ndarray, np.ndarray]:
    """(user_agent, ja4) per account, each account one client from ``kinds``."""
    kind = np.asarray(kinds, dtype=object)[rng.integers(0, len(kinds), n)]
    ua = np.array([UA[k][rng.integers(0, len(UA[k]))] for k in kind], dtype=object)
    ja4 = np.array([JA4_COMMON[k] for k in kind], dtype=object)
    return ua, ja4


def rare_ja4(rng: np.random.Generator, n: int) -> np.ndarray:
    """Custom client fingerprints nobody else has (e.g. a harvesting tool's own TLS stack)."""
    cnt = rng.choice(["1609h2", "1410h2", "2213h1", "1108h2"], n)
    a = np.char.mod("%012x", rng.integers(0, 2**47, n))
    b = np.char.mod("%012x", rng.integers(0, 2**47, n))
    return np.array([f"t13d{c}_{x}_{y}" for c, x, y in zip(cnt, a, b, strict=True)], dtype=object)
