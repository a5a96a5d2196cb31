"""Client software: user agents by family and JA4 TLS fingerprints.

JA4 strings follow the real format (``t13d1516h2_<12 hex>_<12 hex>``); the hex parts are
derived from the family name, so every client of one family shares one fingerprint, as
real TLS stacks do.
"""

from __future__ import annotations

import hashlib

import numpy as np
from _h2_common import pick

WIN = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) "
CHROME = "AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v}.0.0.0 Safari"
BROWSER_UAS = (
    WIN + CHROME + "/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) " + CHROME + "/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.{m} Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:{v}.0) Gecko/20100101 Firefox/{v}.0",
    WIN + CHROME + "/537.36 Edg/{v}.0.0.0",
)
BROWSER_FAMILY = ("chrome", "chrome", "safari", "firefox", "chrome")
MOBILE_UAS = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_{m} like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.{m} Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/{v}.0.0.0 Mobile Safari/537.36",
    "NimbusChat/3.{m}.1 (iPhone; iOS 17.{m}; Scale/3.00)",
    "NimbusChat/3.{m}.0 (Android 14; SM-S918B)",
)
MOBILE_FAMILY = ("safari_ios", "chrome_android", "app_ios", "app_android")
SDK_UAS = (
    "nimbus-python/1.{m}.{p}",
    "nimbus-node/4.{m}.{p}",
    "python-httpx/0.27.{p}",
    "python-requests/2.3{m}.{p}",
    "Go-http-client/2.0",
    "curl/8.{m}.{p}",
    "okhttp/4.12.0",
    "LiteLLM/1.4{m}.{p}",
    "langchain-nimbus/0.2.{p}",
)
SDK_FAMILY = ("py_ssl", "node", "py_ssl", "py_ssl", "go", "curl", "okhttp", "py_ssl", "py_ssl")


def ja4(family: str) -> str:
    """A stable JA4-format fingerprint for a TLS client family."""
    h = hashlib.sha256(family.encode()).hexdigest()
    ciphers = 12 + int(h[0], 16) % 10
    exts = 10 + int(h[1], 16) % 9
    alpn = "h2" if not family.startswith(("py_", "curl")) else "h1"
    return f"t13d{ciphers:02d}{exts:02d}{alpn}_{h[2:14]}_{h[14:26]}"


def _fill(rng: np.random.Generator, templates: np.ndarray, n: int) -> np.ndarray:
    v = rng.integers(118, 124, n).astype(str)
    m = rng.integers(0, 9, n).astype(str)
    p = rng.integers(0, 20, n).astype(str)
    out = np.empty(n, dtype=object)
    for t in np.unique(templates):  # a handful of templates: a loop over families, not rows
        sel = templates == t
        out[sel] = [
            t.replace("{v}", a).replace("{m}", b).replace("{p}", c)
            for a, b, c in zip(v[sel], m[sel], p[sel], strict=True)
        ]
    return out


def clients(rng: np.random.Generator, n: int, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """Per-account ``(user_agent, tls_fingerprint)`` for ``kind`` in browser|mobile|sdk|mixed."""
    if kind == "mixed":
        k = pick(rng, ["browser", "sdk", "mobile"], n, [0.45, 0.45, 0.10])
        ua, fp = np.empty(n, dtype=object), np.empty(n, dtype=object)
        for kk in ("browser", "sdk", "mobile"):
            sel = k == kk
            ua[sel], fp[sel] = clients(rng, int(sel.sum()), kk)
        return ua, fp
    uas, fams = {
        "browser": (BROWSER_UAS, BROWSER_FAMILY),
        "mobile": (MOBILE_UAS, MOBILE_FAMILY),
        "sdk": (SDK_UAS, SDK_FAMILY),
    }[kind]
    i = rng.integers(len(uas), size=n)
    ua = _fill(rng, np.asarray(uas, dtype=object)[i], n)
    fp = np.array([ja4(f) for f in fams], dtype=object)[i]
    return ua, fp
