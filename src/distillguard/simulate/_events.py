"""Assemble the event table for a chunk of accounts: every column of the event schema.

Everything here is column-wise: per-event values are numpy draws or Arrow ``take``s
of per-account columns. The only Python loops run over small sets (models, network
kinds, prompt families), never over events.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from distillguard.schema import EVENT_SCHEMA
from distillguard.simulate import _prompts
from distillguard.simulate._accounts import Accounts
from distillguard.simulate._ids import ids_for, ip_strings, key64, mix64
from distillguard.simulate._profile import Profile
from distillguard.simulate._world import World

#: Per-request share of a rotating home network's addresses used for one request
#: (``proxy`` accounts rotate on every request; others stick to one address per day).
ROTATE_PER_REQUEST = ("proxy", "tor", "relay")
#: Server-side generation speed (tokens/s) and time to first token (ms), uniform ranges.
TOKENS_PER_S = (35.0, 110.0)
TTFT_MS = (180.0, 1400.0)


@dataclass
class Chunk:
    """Events of one chunk before assembly: account index (into Accounts) per event, times."""

    acc: np.ndarray  # int index into the persona's Accounts per event
    t_s: np.ndarray  # float seconds from scenario start
    sess: np.ndarray  # int session number (conversation grouping)
    index: int = 0  # chunk number within the persona (< 2**24): makes event ids unique
    key_slot: np.ndarray | None = None  # force the API key slot (e.g. a stolen key)
    ip: np.ndarray | None = None  # force addresses (uint64 codes, see _netranges)
    client_row: np.ndarray | None = None  # force client rows
    prompt: pa.Array | None = None  # force prompts where not null (same order as ``acc``)


def _model_choice(world: World, profile: Profile, rng: np.random.Generator, t_h: np.ndarray) -> np.ndarray:
    roles = [r for r in profile.models if profile.models[r] > 0]
    p = np.array([profile.models[r] for r in roles], dtype=np.float64)
    idx = np.array([world.role_index(r) for r in roles])[rng.choice(len(roles), size=len(t_h), p=p / p.sum())]
    new = world.new_model
    if new is not None and profile.new_model_share > 0:
        since = t_h - new.release_h
        share = np.where(
            since > 0, profile.new_model_share * (1 - np.exp(-since / profile.new_model_tau_h)), 0.0
        )
        idx = np.where(rng.random(len(t_h)) < share, world.models.index(new), idx)
    # Nobody calls a model before its release.
    release = np.array([m.release_h for m in world.models])
    fallback = world.role_index("flagship")
    return np.where(release[idx] > t_h, fallback, idx)


def build_events(
    world: World, profile: Profile, acc: Accounts, chunk: Chunk, rng: np.random.Generator, key_base: int
) -> pa.Table:
    """The chunk's events as a table of exactly :data:`EVENT_SCHEMA`, sorted by time."""
    order = np.argsort(chunk.t_s, kind="stable")
    a = chunk.acc[order]
    t_s = chunk.t_s[order]
    sess = chunk.sess[order]
    n = len(a)
    t_h = t_s / 3600.0
    day = (t_s // 86400).astype(np.int64)
    a_arr = pa.array(a)
    # (persona, chunk, position) packed into 64 bits, then mixed bijectively: unique by construction.
    counter = (np.uint64(key_base) << np.uint64(56)) | (np.uint64(chunk.index) << np.uint64(32))

    # --- request content ------------------------------------------------------------
    prompts, fam = _prompts.generate(rng, dict(profile.prompts), n, world.prompts)
    if chunk.prompt is not None:
        prompts = pc.coalesce(chunk.prompt.take(pa.array(order)), prompts)
    meta = _prompts.family_meta()
    tmin = np.array([m.tools[0] for m in meta])[fam]
    tmax = np.array([m.tools[1] for m in meta])[fam]
    tool_count = np.where(tmax > 0, rng.integers(0, 1 << 30, n) % (tmax - tmin + 1) + tmin, 0)
    has_image = np.array([m.image for m in meta])[fam]
    if profile.system_prompts and profile.system_share > 0:
        sp_pool = pa.array(list(profile.system_prompts))
        # An account keeps one system prompt (its product's); which one depends on the account.
        sp_idx = (acc.key[a] % np.uint64(len(sp_pool))).astype(np.int64)
        system = sp_pool.take(pa.array(sp_idx))
        system = pc.if_else(pa.array(rng.random(n) < profile.system_share), system, pa.nulls(n, pa.string()))
    else:
        system = pa.nulls(n, pa.string())

    # --- model and token sizes ----------------------------------------------------------
    model_idx = _model_choice(world, profile, rng, t_h)
    acc_shift_in = mix64(acc.key[a] ^ np.uint64(0x11)).astype(np.float64) / 2.0**64
    acc_shift_out = mix64(acc.key[a] ^ np.uint64(0x22)).astype(np.float64) / 2.0**64
    sd = profile.account_token_sd
    mu_in = profile.tokens_in[0] + sd * _probit(acc_shift_in)
    mu_out = profile.tokens_out[0] + sd * _probit(acc_shift_out)
    prompt_tokens = pc.utf8_length(prompts).to_numpy(zero_copy_only=False) // 4
    in_tok = np.maximum(np.exp(mu_in + profile.tokens_in[1] * rng.standard_normal(n)), prompt_tokens + 1)
    visible = np.maximum(np.exp(mu_out + profile.tokens_out[1] * rng.standard_normal(n)), 1.0)
    reasoning_model = np.array([m.reasoning for m in world.models])[model_idx]
    ratio = np.clip(profile.reasoning_ratio + 0.12 * rng.standard_normal(n), 0.05, 0.97)
    reasoning = np.where(reasoning_model, visible * ratio / (1 - ratio), 0.0)
    status_u = rng.random(n)
    cut_err = profile.error
    cut_rl = cut_err + profile.rate_limited
    cut_ref = cut_rl + profile.refused
    status_code = np.select([status_u < cut_err, status_u < cut_rl, status_u < cut_ref], [1, 2, 3], 0)
    failed = (status_code == 1) | (status_code == 2)
    refused = status_code == 3
    visible = np.where(failed, 0, np.where(refused, np.minimum(visible, 40), visible))
    reasoning = np.where(failed | refused, 0, reasoning)
    out_tok = np.rint(visible + reasoning).astype(np.int64)
    reasoning_tok = np.rint(reasoning).astype(np.int64)
    tps = rng.uniform(*TOKENS_PER_S, n)
    duration = rng.uniform(*TTFT_MS, n) + out_tok / tps * 1000.0
    duration = np.where(status_code == 2, rng.uniform(5, 40, n), duration)

    # --- identity, keys, network, client ---------------------------------------------------
    slot = chunk.key_slot[order] if chunk.key_slot is not None else _key_slot(rng, acc.n_keys[a])
    key_ids = ids_for("key-", key64(world.seed, 0x4E7), acc.key[a] * np.uint64(16) + slot.astype(np.uint64))
    ip = chunk.ip[order] if chunk.ip is not None else _pick_ip(rng, acc, a, day, profile, world)
    if chunk.client_row is not None:
        client_row = chunk.client_row[order]
    else:
        primary = rng.random(n) < acc.client_p[a]
        client_row = np.where(primary, acc.client[a, 0], acc.client[a, 1])
    ua = pa.array(world.clients.user_agents).take(pa.array(client_row))
    tls = pa.array(world.clients.tls).take(pa.array(client_row))

    if profile.conversation == "session":
        conv = ids_for("conv-", key64(world.seed, 0xC0), acc.key[a] ^ mix64(sess.astype(np.uint64)))
    elif profile.conversation == "request":
        conv = ids_for("conv-", key64(world.seed, 0xC1), np.arange(n, dtype=np.uint64) | counter)
    else:
        conv = pa.nulls(n, pa.string())
    if profile.end_user_share > 0 and profile.end_users > 0:
        user = np.minimum(rng.zipf(1.6, n), profile.end_users)
        eu = ids_for("user-", key64(world.seed, 0xE0), acc.key[a] ^ mix64(user.astype(np.uint64)))
        eu = pc.if_else(pa.array(rng.random(n) < profile.end_user_share), eu, pa.nulls(n, pa.string()))
    else:
        eu = pa.nulls(n, pa.string())

    logprobs = rng.random(n) < profile.logprobs
    temp = acc.temp[a]
    status_names = np.array(["ok", "error", "rate_limited", "refused"])
    ts_us = world.start_us + np.floor(t_s * 1e6).astype(np.int64)
    cached = acc.arrow(world)
    ev_ids = ids_for("req-", key64(world.seed, 0xE7), np.arange(n, dtype=np.uint64) | counter)

    cols = {
        "event_id": ev_ids,
        "timestamp": pa.array(ts_us, type=pa.int64()).cast(EVENT_SCHEMA.field("timestamp").type),
        "account_id": cached["account_id"].take(a_arr),
        "model": pa.array([m.name for m in world.models]).take(pa.array(model_idx)),
        "input_tokens": pa.array(np.rint(in_tok).astype(np.int64)),
        "output_tokens": pa.array(out_tok),
        "provider": pa.array(world.providers).take(pa.array(acc.provider[a])),
        "api_key_id": key_ids,
        "end_user_id": eu,
        "reasoning_output_tokens": pa.array(reasoning_tok),
        "client_ip": ip_strings(ip, ip ^ mix64(acc.key[a] ^ day.astype(np.uint64))),
        "user_agent": ua,
        "tls_fingerprint": tls,
        "payment_fingerprint": cached["payment_fingerprint"].take(a_arr),
        "account_created_at": cached["account_created_at"].take(a_arr),
        "account_tier": cached["account_tier"].take(a_arr),
        "account_country": cached["account_country"].take(a_arr),
        "prompt": prompts,
        "system_prompt": system,
        "conversation_id": conv,
        "tool_count": pa.array(tool_count.astype(np.int64)),
        "has_image": pa.array(has_image),
        "logprobs_requested": pa.array(logprobs),
        "stream": pa.array(acc.stream[a]),
        "temperature": pa.array(temp, type=pa.float64(), from_pandas=True),
        "status": pa.array(status_names).take(pa.array(status_code)),
        "duration_ms": pa.array(np.rint(duration).astype(np.int64)),
    }
    return pa.Table.from_arrays([cols[f.name] for f in EVENT_SCHEMA], schema=EVENT_SCHEMA)


def _probit(u: np.ndarray) -> np.ndarray:
    """Cheap normal quantile (logistic approximation): a stable per-account shift."""
    u = np.clip(u, 1e-6, 1 - 1e-6)
    return np.log(u / (1 - u)) / 1.702


def _key_slot(rng: np.random.Generator, n_keys: np.ndarray) -> np.ndarray:
    """Which of an account's keys a request uses: the first one most of the time."""
    other = rng.integers(0, 1 << 30, len(n_keys)) % np.maximum(n_keys, 1)
    return np.where(rng.random(len(n_keys)) < 0.75, 0, other)


def _pick_ip(
    rng: np.random.Generator, acc: Accounts, a: np.ndarray, day: np.ndarray, profile: Profile, world: World
) -> np.ndarray:
    n = len(a)
    n_ip = acc.ip_n[a]
    rotate = np.isin(acc.net[a], ROTATE_PER_REQUEST)
    sticky = (mix64(acc.key[a] ^ day.astype(np.uint64)) % n_ip.astype(np.uint64)).astype(np.int64)
    anyone = rng.integers(0, 1 << 30, n) % n_ip
    ip = acc.ips[acc.ip_off[a] + np.where(rotate, anyone, sticky)]
    for kind, share in profile.roam.items():
        away = rng.random(n) < share
        if away.any():
            pool = world.pools.get(kind)
            if pool is None:
                ip[away] = world.nets.sample(kind, rng, int(away.sum()))
            else:
                ip[away] = pool[rng.integers(0, len(pool), int(away.sum()))]
    return ip
