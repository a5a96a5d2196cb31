"""LiteLLM proxy hook: ask ``distillguard serve`` about the account before each model call.

Wire it into a LiteLLM proxy ``config.yaml``::

    litellm_settings:
      callbacks: litellm_hook.proxy_handler_instance

with ``DISTILLGUARD_URL`` (default ``http://127.0.0.1:8787``) and ``DISTILLGUARD_TOKEN`` (a
token with the ``read`` scope: ``distillguard serve token create --state DIR --scope read``)
in the proxy's environment.

What the recommended action does here (an example policy; change it to yours):

- ``allow``: the request goes on unchanged (also for accounts distillguard never saw);
- ``throttle``: rejected with 429 (a real gateway would rate-limit instead);
- ``verify``: rejected with 403 asking for verification;
- ``degrade_reasoning``: served, with reasoning switched down (``reasoning_effort`` set to
  ``low``, ``thinking`` removed) and ``max_tokens`` capped;
- ``block``: rejected with 403.

The lookup is one GET with a short timeout; if distillguard is unreachable the request is
let through (``fail_open``) and the error logged, so the detector never takes the gateway down.
"""

from __future__ import annotations

import logging
import os
from typing import Any

try:  # the real interface when LiteLLM is installed
    from litellm.integrations.custom_logger import CustomLogger
except ImportError:  # lets this file be imported (and tested) without LiteLLM

    class CustomLogger:  # type: ignore[no-redef]
        """Stand-in for ``litellm.integrations.custom_logger.CustomLogger`` (not installed)."""


log = logging.getLogger("distillguard.litellm")

#: ``max_tokens`` given to an account whose action is ``degrade_reasoning``.
DEGRADED_MAX_TOKENS = 1024


class GatewayRejection(Exception):
    """Raised when LiteLLM's FastAPI is absent; LiteLLM itself raises HTTPException."""

    def __init__(self, status_code: int, detail: dict[str, Any]) -> None:
        super().__init__(detail)
        self.status_code, self.detail = status_code, detail


def _reject(status: int, detail: dict[str, Any]) -> Exception:
    try:
        from fastapi import HTTPException

        return HTTPException(status_code=status, detail=detail)
    except ImportError:
        return GatewayRejection(status, detail)


def account_of(user_api_key_dict: Any, data: dict[str, Any]) -> str | None:
    """The account a request is billed to: the key's user, else its team, else ``data['user']``."""
    for attr in ("user_id", "team_id"):
        value = getattr(user_api_key_dict, attr, None)
        if value:
            return str(value)
    user = data.get("user")
    return str(user) if user else None


class DistillguardHook(CustomLogger):
    """``async_pre_call_hook``: look the account up, apply the recommended action."""

    def __init__(
        self,
        url: str | None = None,
        token: str | None = None,
        *,
        timeout_s: float = 0.05,
        fail_open: bool = True,
    ) -> None:
        self.url = (url or os.environ.get("DISTILLGUARD_URL", "http://127.0.0.1:8787")).rstrip("/")
        self.token = token or os.environ.get("DISTILLGUARD_TOKEN", "")
        self.timeout_s = timeout_s
        self.fail_open = fail_open
        self._client: Any = None

    def _http(self) -> Any:
        import httpx

        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=self.timeout_s, headers={"Authorization": f"Bearer {self.token}"}
            )
        return self._client

    async def risk(self, account: str) -> dict[str, Any]:
        from urllib.parse import quote

        resp = await self._http().get(f"{self.url}/v1/accounts/{quote(account, safe='')}/risk")
        resp.raise_for_status()
        return resp.json()

    async def async_pre_call_hook(
        self, user_api_key_dict: Any, cache: Any, data: dict[str, Any], call_type: str
    ) -> dict[str, Any]:
        account = account_of(user_api_key_dict, data)
        if account is None:
            return data
        try:
            risk = await self.risk(account)
        except Exception as err:  # the detector must never take the gateway down
            log.warning("distillguard lookup for %s failed: %s", account, err)
            if self.fail_open:
                return data
            raise _reject(503, {"error": "risk check unavailable"}) from None
        action = risk.get("action", "allow")
        detail = {"error": f"distillguard: {action}", "campaign_id": risk.get("campaign_id")}
        if action == "block":
            raise _reject(403, detail)
        if action == "verify":
            raise _reject(403, {**detail, "error": "distillguard: verification required"})
        if action == "throttle":
            raise _reject(429, detail)
        if action == "degrade_reasoning":
            data = dict(data)
            data.pop("thinking", None)
            data["reasoning_effort"] = "low"
            data["max_tokens"] = min(int(data.get("max_tokens") or DEGRADED_MAX_TOKENS), DEGRADED_MAX_TOKENS)
        return data


proxy_handler_instance = DistillguardHook()
