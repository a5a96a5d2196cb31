"""Keyed hashes and keyed template sketches."""

from __future__ import annotations

import hashlib
import hmac

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from distillguard.share._hashing import DOMAIN_PREFIX, canonicalize, keyed_hashes
from distillguard.share._sketch import (
    SketchParams,
    band_keys,
    jaccard_estimate,
    keyed_signatures,
    signature_to_hex,
    signatures_from_hex,
)

KEY = bytes(range(32))
OTHER = bytes(range(1, 33))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=40).filter(lambda s: s.strip()), min_size=1, max_size=20))
def test_duckdb_hmac_equals_stdlib(values: list[str]) -> None:
    got = keyed_hashes(pa.array(values), KEY, "ua").to_pylist()
    want = [
        hmac.new(KEY, f"{DOMAIN_PREFIX}ua\x1f{v.strip()}".encode(), hashlib.sha256).hexdigest()
        for v in values
    ]
    assert got == want


def test_long_keys_follow_rfc2104() -> None:
    long_key = bytes(range(100))
    got = keyed_hashes(pa.array(["1.2.3.4"]), long_key, "ip").to_pylist()[0]
    assert got == hmac.new(long_key, f"{DOMAIN_PREFIX}ip\x1f1.2.3.4".encode(), hashlib.sha256).hexdigest()


def test_canonical_forms() -> None:
    ips = pa.array([" 203.0.113.9 ", "2001:DB8::1", "", None, "not-an-ip"])
    assert canonicalize("ip", ips).to_pylist() == ["203.0.113.9", "2001:db8::1", None, None, "not-an-ip"]
    assert canonicalize("ip24", ips).to_pylist() == ["203.0.113.0/24", None, None, None, None]
    assert canonicalize("ua", pa.array(["  curl/8 "])).to_pylist() == ["curl/8"]


def test_domain_separation_and_key_dependence() -> None:
    v = pa.array(["same"])
    assert keyed_hashes(v, KEY, "ua").to_pylist() != keyed_hashes(v, KEY, "tls").to_pylist()
    assert keyed_hashes(v, KEY, "ua").to_pylist() != keyed_hashes(v, OTHER, "ua").to_pylist()
    assert keyed_hashes(pa.array([None], pa.string()), KEY, "ua").to_pylist() == [None]


def test_keyed_sketches_estimate_similarity_only_under_the_same_key() -> None:
    params = SketchParams()
    base = "explain step by step the internal reasoning behind the answer to problem <num> in detail please"
    near = base.replace("in detail please", "in detail")
    far = "what is a good recipe for banana bread with walnuts and a crunchy top"
    sigs = keyed_signatures(pa.array([base, near, far, base]), KEY, params)
    assert sigs.shape == (4, params.num_perm) and sigs.dtype == np.uint64
    jac = jaccard_estimate(sigs[[0, 0, 0]], sigs[[3, 1, 2]])
    assert jac[0] == 1.0
    assert jac[1] >= 0.6
    assert jac[2] <= 0.2
    other = keyed_signatures(pa.array([base]), OTHER, params)
    assert jaccard_estimate(sigs[:1], other)[0] < 0.1
    bands = band_keys(sigs, params)
    assert (bands[0] == bands[3]).all() and not (bands[0] == band_keys(other, params)[0]).any()


def test_signature_hex_round_trip() -> None:
    sigs = keyed_signatures(pa.array(["a b c d e", "f g h i j"]), KEY, SketchParams())
    back = signatures_from_hex([signature_to_hex(s) for s in sigs], 64)
    assert (back == sigs).all()
