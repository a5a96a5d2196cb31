"""Client software: user agents and JA4-like TLS fingerprints.

The TLS fingerprint follows the TLS stack, not the user agent: every Python program on
OpenSSL 3 shares one, whatever its UA string says. That is what real logs look like,
and it is why neither column separates attackers from benign clients on its own:
harvesters use the same official SDKs and HTTP libraries as everybody else. What
differs is the mix per account and how many accounts share one exact combination.
"""

from __future__ import annotations

import numpy as np

# TLS stacks -> a JA4-shaped fingerprint (protocol/ciphers/extensions sections).
_TLS: dict[str, str] = {
    "openssl3_py": "t13d1812h2_85036bcba153_375ca2c5e164",
    "openssl3_py_h1": "t13d1812h1_85036bcba153_d41ae481755e",
    "go": "t13d1311h2_f57a46bbacb6_ab7e3b40a677",
    "node": "t13d1712h2_5b57614c22b0_3d5424432f57",
    "chrome": "t13d1516h2_8daaf6152771_02713d6af862",
    "safari": "t13d2014h2_a09f3c656075_14788d8d241b",
    "firefox": "t13d1715h2_5b57614c22b0_5c2c66f702b0",
    "java": "t13d1613h2_46e7e9700bed_45f260be83e2",
    "curl": "t13d3112h2_e8f1e7e78f70_6bebaf5329ac",
    "rust": "t13d0912h2_f91f431d341e_dc4e6b1e7ddc",
}

#: client name -> (TLS stack, user-agent variants). Versions drift like real fleets.
CLIENTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "openai_python": (
        "openssl3_py",
        ("OpenAI/Python 1.51.0", "OpenAI/Python 1.54.4", "OpenAI/Python 1.58.1", "OpenAI/Python 1.61.0"),
    ),
    "anthropic_python": ("openssl3_py", ("anthropic-python/0.39.0", "anthropic-python/0.42.0")),
    "python_requests": ("openssl3_py_h1", ("python-requests/2.31.0", "python-requests/2.32.3")),
    "httpx": ("openssl3_py", ("python-httpx/0.27.0", "python-httpx/0.27.2", "python-httpx/0.28.1")),
    "aiohttp": ("openssl3_py_h1", ("Python/3.11 aiohttp/3.9.5", "Python/3.12 aiohttp/3.10.10")),
    "langchain": ("openssl3_py", ("langchain-openai/0.2.9 OpenAI/Python 1.54.4",)),
    "litellm": ("openssl3_py", ("litellm/1.52.0", "litellm/1.55.3")),
    "openai_node": ("node", ("OpenAI/JS 4.71.1", "OpenAI/JS 4.77.0")),
    "axios": ("node", ("axios/1.7.7", "axios/1.7.9")),
    "go_http": ("go", ("Go-http-client/2.0",)),
    "okhttp": ("java", ("okhttp/4.12.0",)),
    "curl": ("curl", ("curl/8.5.0", "curl/8.10.1")),
    "reqwest": ("rust", ("reqwest/0.12.9",)),
    "chrome": (
        "chrome",
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/131.0.0.0 Safari/537.36",
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/130.0.0.0 Safari/537.36",
        ),
    ),
    "safari": (
        "safari",
        (
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
            "Version/18.1 Safari/605.1.15",
            "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
            "Version/18.1 Mobile/15E148 Safari/604.1",
        ),
    ),
    "firefox": (
        "firefox",
        ("Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",),
    ),
}


class ClientTable:
    """Flat table of (client, UA variant) pairs, indexable by integer."""

    def __init__(self) -> None:
        names, uas, tls = [], [], []
        for name, (stack, variants) in CLIENTS.items():
            for ua in variants:
                names.append(name)
                uas.append(ua)
                tls.append(_TLS[stack])
        self.names = np.array(names)
        self.user_agents: list[str] = uas
        self.tls: list[str] = tls
        self._by_name = {n: np.flatnonzero(self.names == n) for n in CLIENTS}

    def pick(self, rng: np.random.Generator, mix: dict[str, float], n: int) -> np.ndarray:
        """``n`` row indices: a client drawn from ``mix``, then one of its UA versions."""
        names = list(mix)
        p = np.array([mix[k] for k in names], dtype=np.float64)
        which = rng.choice(len(names), size=n, p=p / p.sum())
        out = np.empty(n, dtype=np.int64)
        for i, name in enumerate(names):
            sel = np.flatnonzero(which == i)
            rows = self._by_name[name]
            out[sel] = rows[rng.integers(0, len(rows), size=len(sel))]
        return out
