"""The world every persona draws from: corpora, IP space, countries, token sizes.

Token sizes: each account follows one real ServeGen client's token profile (log-normal
fitted through that client's p50 and p90); the input is never shorter than the prompt
text actually sent (~4 characters a token).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from _h2_common import DAY_US, START_US, pick
from _h2_corpus import Corpus
from _h2_net import MOBILE_V6, RESIDENTIAL_V6, Net, V4Pool, fmt_v4, fmt_v6, v6_hextets

#: Declared countries of ordinary customers and their UTC offsets (hours).
COUNTRIES = np.array(
    [
        "US",
        "IN",
        "DE",
        "GB",
        "FR",
        "JP",
        "BR",
        "CA",
        "KR",
        "AU",
        "ES",
        "IT",
        "NL",
        "VN",
        "PH",
        "MX",
        "TR",
        "TW",
        "NO",
        "BE",
    ],
    dtype=object,
)
COUNTRY_P = np.array([30, 10, 7, 6, 5, 5, 4, 4, 3, 3, 3, 3, 2, 2, 2, 2, 2, 2, 1, 1], dtype=float)
TZ = {
    "US": -6,
    "IN": 5.5,
    "DE": 1,
    "GB": 0,
    "FR": 1,
    "JP": 9,
    "BR": -3,
    "CA": -5,
    "KR": 9,
    "AU": 10,
    "ES": 1,
    "IT": 1,
    "NL": 1,
    "VN": 7,
    "PH": 8,
    "MX": -6,
    "TR": 3,
    "TW": 8,
    "NO": 1,
    "BE": 1,
    "CN": 8,
    "RU": 3,
    "SG": 8,
    "ID": 7,
}
#: Share of residential customers (in countries with IPv6 rollout) reaching us over IPv6.
IPV6_SHARE = 0.45
#: Characters per token when sizing inputs from real prompt text.
CHARS_PER_TOKEN = 4.0
Z90 = 1.2816


def tz_of(country: np.ndarray) -> np.ndarray:
    return np.array([TZ.get(c, 0) for c in country], dtype=float)


@dataclass
class World:
    corpus: Corpus
    net: Net

    @classmethod
    def load(cls, data: Path, rng: np.random.Generator) -> World:
        return cls(Corpus.load(data, rng), Net.load(data))

    # ---- countries and IPs -----------------------------------------------------
    def countries(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return pick(rng, COUNTRIES, n, COUNTRY_P)

    def home_ips(
        self,
        rng: np.random.Generator,
        country: np.ndarray,
        acct: np.ndarray,
        ts: np.ndarray,
        *,
        v6_share: float = IPV6_SHARE,
    ) -> pa.Array:
        """A household's address per request: stable IPv4, or a stable /64 whose interface id
        rotates daily (privacy extensions) for IPv6 users. ``country`` is per account."""
        n_acct = len(country)
        has_v6 = np.isin(country, list(RESIDENTIAL_V6)) & (rng.random(n_acct) < v6_share)
        v4 = self.net.residential.sample(rng, n_acct, country)
        prefix = np.zeros((n_acct, 8), dtype=np.uint16)
        for c, pfx in RESIDENTIAL_V6.items():
            sel = has_v6 & (country == c)
            prefix[sel] = v6_hextets(rng, pfx, int(sel.sum()))
        day = (ts - START_US) // DAY_US
        iid = _keyed_random(rng, acct * 16 + day, 4)
        hx = prefix[acct].copy()
        hx[:, 4:] = iid
        return pc.if_else(pa.array(has_v6[acct]), fmt_v6(hx), fmt_v4(v4[acct]))

    def pool_ips(self, rng: np.random.Generator, pool: V4Pool, n: int) -> np.ndarray:
        """``n`` fixed addresses from ``pool`` (e.g. an app's cloud egress IPs)."""
        return np.asarray(fmt_v4(pool.sample(rng, n)).to_pylist(), dtype=object)

    def rotating_ips(
        self, rng: np.random.Generator, pool: V4Pool, n: int, country: np.ndarray | None = None
    ) -> pa.Array:
        """A fresh address from ``pool`` on every request (proxies, relays, VPN exits)."""
        return fmt_v4(pool.sample(rng, n, country))

    def mobile_ips(self, rng: np.random.Generator, n: int, v6_share: float = 0.3) -> pa.Array:
        v4 = fmt_v4(self.net.mobile.sample(rng, n))
        v6 = fmt_v6(v6_hextets(rng, MOBILE_V6, n))
        return pc.if_else(pa.array(rng.random(n) < v6_share), v6, v4)

    # ---- tokens ------------------------------------------------------------------
    def token_profile(self, rng: np.random.Generator, n: int, kind: str = "chat") -> dict[str, np.ndarray]:
        """Per-account log-normal token parameters copied from a real ServeGen client window."""
        s = self.corpus.stats["reason_tokens" if kind == "reason" else "chat_tokens"]
        r = rng.integers(len(s["client_id"]), size=n)
        prof = {
            "in_mu": np.log(np.maximum(s["input_p50"][r], 8)),
            "in_sig": np.clip(
                np.log(np.maximum(s["input_p90"][r], 9) / np.maximum(s["input_p50"][r], 8)) / Z90, 0.2, 1.6
            ),
            "out_mu": np.log(np.maximum(s["output_p50"][r], 4)),
            "out_sig": np.clip(
                np.log(np.maximum(s["output_p90"][r], 5) / np.maximum(s["output_p50"][r], 4)) / Z90, 0.2, 1.4
            ),
        }
        if kind == "reason":
            prof["reason_ratio"] = np.clip(s["reason_ratio_mean"][r], 0.2, 0.95)
        return prof

    def tokens(
        self,
        rng: np.random.Generator,
        prof: dict[str, np.ndarray],
        acct: np.ndarray,
        texts: list[pa.Array | None] = (),  # type: ignore[assignment]
    ) -> dict[str, np.ndarray]:
        """``in_tok``, ``out_tok`` (and ``reason_tok`` for reasoning profiles) per request."""
        n = len(acct)
        z = rng.standard_normal((2, n))
        in_tok = np.exp(prof["in_mu"][acct] + prof["in_sig"][acct] * z[0])
        text_tok = np.zeros(n)
        for t in texts:
            if t is not None:
                text_tok += (
                    pc.fill_null(pc.binary_length(t), 0).to_numpy(zero_copy_only=False) / CHARS_PER_TOKEN
                )
        in_tok = np.maximum(in_tok, text_tok + 8)
        out_tok = np.exp(prof["out_mu"][acct] + prof["out_sig"][acct] * z[1])
        out = {"in_tok": in_tok.astype(np.int64), "out_tok": np.maximum(out_tok, 1).astype(np.int64)}
        if "reason_ratio" in prof:
            out["reason_tok"] = (out["out_tok"] * prof["reason_ratio"][acct]).astype(np.int64)
        return out


def _keyed_random(rng: np.random.Generator, key: np.ndarray, width: int) -> np.ndarray:
    """Random uint16 hextets, equal for equal keys (e.g. one interface id per household-day)."""
    uniq, inv = np.unique(key, return_inverse=True)
    vals = rng.integers(0, 65536, size=(len(uniq), width), dtype=np.uint32).astype(np.uint16)
    return vals[inv]


def created_before(
    rng: np.random.Generator, n: int, median_days: float, sigma: float = 1.0, min_days: float = 1.0
) -> np.ndarray:
    """Account creation times: log-normal ages (days) before the window."""
    age = np.maximum(min_days, np.exp(np.log(median_days) + sigma * rng.standard_normal(n)))
    return (START_US - age * DAY_US).astype(np.int64)
