"""examples/litellm_hook.py against a real server on loopback.

STUB OF THE LITELLM SIDE: LiteLLM is not a dependency of the project (a 44 MB wheel plus
its own dependency tree), so these tests call the hook's ``async_pre_call_hook`` the way
the LiteLLM proxy does (``user_api_key_dict``, ``cache``, ``data``, ``call_type``) with a
stand-in key object and a request dict. The distillguard side is real: a server
subprocess answers the lookups. When ``litellm`` and its proxy dependencies are importable,
the last test runs the hook through LiteLLM's own ``ProxyLogging.pre_call_hook`` (checked
by hand with litellm 1.110.2 in a separate venv; skipped in the project's).
"""

from __future__ import annotations

import asyncio
import importlib.util
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from dg_serve_world import Server, make_tokens

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "litellm_hook.py"


def _example():
    spec = importlib.util.spec_from_file_location("litellm_hook", EXAMPLE)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@dataclass
class FakeKey:
    """Stand-in for LiteLLM's ``UserAPIKeyAuth`` (only the attributes the hook reads)."""

    user_id: str | None = None
    team_id: str | None = None


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    state = tmp_path_factory.mktemp("hook") / "state"
    tokens = make_tokens(state)
    (state / "scan").mkdir()
    pq.write_table(
        pa.table(
            {
                "account_id": ["bad", "meh", "deg", "ok"],
                "score": [0.95, 0.5, 0.7, 0.0],
                "verdict": ["attack", "suspicious", "attack", "clear"],
                "campaign_id": ["C1", None, "C1", None],
                "reasons": [["campaign_member"], ["x"], ["y"], []],
                "flagged_at": pa.array([None] * 4, pa.timestamp("us", "UTC")),
            }
        ),
        state / "scan" / "accounts.parquet",
    )
    config = state.parent / "serve.toml"
    config.write_text("[actions]\nblock_min_score = 0.9\n")  # 'deg' (attack, 0.7) is degraded
    srv = Server(state, extra=["--config", str(config)])
    yield srv, tokens
    srv.stop()


def _call(hook, key, data):
    return asyncio.run(
        hook.async_pre_call_hook(user_api_key_dict=key, cache=None, data=data, call_type="completion")
    )


def test_hook_applies_the_recommended_action(server):
    srv, tokens = server
    mod = _example()
    data = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 8000, "thinking": {}}
    hook = mod.DistillguardHook(srv.url, tokens["read"], timeout_s=10)
    assert _call(hook, FakeKey(user_id="ok"), data) == data
    assert _call(
        mod.DistillguardHook(srv.url, tokens["read"], timeout_s=10), FakeKey(), {**data, "user": "new"}
    ) == {
        **data,
        "user": "new",
    }
    for account, status in (("bad", 403), ("meh", 403)):
        with pytest.raises(Exception) as err:
            _call(mod.DistillguardHook(srv.url, tokens["read"], timeout_s=10), FakeKey(team_id=account), data)
        assert err.value.status_code == status
    out = _call(mod.DistillguardHook(srv.url, tokens["read"], timeout_s=10), FakeKey(user_id="deg"), data)
    assert (
        out["reasoning_effort"] == "low"
        and "thinking" not in out
        and out["max_tokens"] == mod.DEGRADED_MAX_TOKENS
    )


def test_hook_fails_open_or_closed_when_the_detector_is_unreachable(server):
    srv, tokens = server
    mod = _example()
    data = {"model": "m", "user": "bad"}
    wrong = mod.DistillguardHook(srv.url, "dgt_wrong", timeout_s=10)  # 401 from the server
    assert _call(wrong, FakeKey(), data) == data
    closed = mod.DistillguardHook("http://127.0.0.1:9", tokens["read"], timeout_s=2, fail_open=False)
    with pytest.raises(Exception) as err:
        _call(closed, FakeKey(), data)
    assert err.value.status_code == 503


def test_hook_through_litellm_proxy_logging_when_litellm_is_installed(server):
    """The real interface: LiteLLM's ProxyLogging.pre_call_hook runs the registered callback."""
    litellm = pytest.importorskip("litellm")
    proxy_utils = pytest.importorskip("litellm.proxy.utils")  # needs LiteLLM's proxy dependencies
    from litellm.caching.dual_cache import DualCache
    from litellm.proxy._types import UserAPIKeyAuth

    srv, tokens = server
    hook = _example().DistillguardHook(srv.url, tokens["read"], timeout_s=10)
    assert isinstance(hook, litellm.integrations.custom_logger.CustomLogger)
    litellm.callbacks = [hook]
    proxy = proxy_utils.ProxyLogging(user_api_key_cache=DualCache())
    data = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 8000}

    async def pre_calls() -> list:  # one event loop, as in the proxy (the hook's client is bound to it)
        out = []
        for user in ("ok", "deg", "bad"):
            try:
                out.append(await proxy.pre_call_hook(UserAPIKeyAuth(user_id=user), dict(data), "completion"))
            except Exception as err:
                out.append(err)
        return out

    ok, deg, bad = asyncio.run(pre_calls())
    assert ok["max_tokens"] == 8000
    assert deg["reasoning_effort"] == "low"
    assert bad.status_code == 403
