"""A persona's parameters: everything that makes one population behave as it does.

A :class:`Profile` is plain data; scenario YAML files override any field by name
(``timing`` fields nested). Token-size defaults come from the real traces, measured
once offline (log-space mean and standard deviation):

* Azure LLM inference trace 2023, conversation service: input ln-mean 6.63 / sd 0.99,
  output ln-mean 5.02 / sd 0.86 (``llm_traces/AzureLLMInferenceTrace_conv.csv``).
* Azure code service: input 7.00 / 1.36, output 2.79 / 0.85 (``..._code.csv``).
* ServeGen DeepSeek-R1 clients: reasoning share of output, median 0.76
  (``servegen/deepseek_r1_client_token_stats.csv``, ``reason_ratio_mean``).
* ServeGen m-large per-client mean request rate: log-normal with sigma 1.70 across
  clients (``servegen/m_large_client_rates_3days.csv``): the heavy tail of per-account
  volume that ``volume_sigma`` reproduces.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from distillguard.errors import DistillguardError
from distillguard.simulate._timing import TimingSpec

AZURE_CONV_IN = (6.63, 0.99)
AZURE_CONV_OUT = (5.02, 0.86)
AZURE_CODE_IN = (7.00, 1.36)
AZURE_CODE_OUT = (2.79, 0.85)
SERVEGEN_VOLUME_SIGMA = 1.70
SERVEGEN_R1_REASON_RATIO = 0.76

#: Benign billing-country mix (rough shares of API developer populations).
WORLD_COUNTRIES: dict[str, float] = {
    "US": 0.34,
    "IN": 0.10,
    "GB": 0.07,
    "DE": 0.06,
    "FR": 0.04,
    "CA": 0.04,
    "BR": 0.04,
    "JP": 0.04,
    "KR": 0.03,
    "SG": 0.03,
    "CN": 0.03,
    "ES": 0.03,
    "AU": 0.03,
    "NL": 0.03,
    "PL": 0.02,
    "MX": 0.02,
    "RU": 0.02,
    "CH": 0.01,
    "SE": 0.01,
    "RO": 0.01,
}


@dataclass(frozen=True)
class Profile:
    """Parameters of one persona. Probabilities are shares in [0, 1]; mixes are weights."""

    name: str
    is_attack: bool = False
    tiers: Mapping[str, float] = field(default_factory=lambda: {"free": 0.6, "paid": 0.4})
    countries: Mapping[str, float] = field(default_factory=lambda: dict(WORLD_COUNTRIES))
    #: home network kind per account (``proxy`` = residential proxy pool, rotating per request)
    network: Mapping[str, float] = field(default_factory=lambda: {"residential": 0.8, "mobile": 0.2})
    ips_per_account: tuple[int, int] = (1, 3)  # distinct home addresses (dynamic ISPs rotate)
    roam: Mapping[str, float] = field(default_factory=dict)  # per-request share off the home network
    clients: Mapping[str, float] = field(default_factory=lambda: {"openai_python": 1.0})
    age_days: tuple[float, float] = (240.0, 1.0)  # account age at scenario start: log-normal median, sigma
    volume_sigma: float = SERVEGEN_VOLUME_SIGMA  # log-normal sigma of per-account request volume
    timing: TimingSpec = field(default_factory=TimingSpec)
    tokens_in: tuple[float, float] = AZURE_CONV_IN
    tokens_out: tuple[float, float] = AZURE_CONV_OUT
    account_token_sd: float = 0.35  # per-account shift of the log token means (habits differ)
    prompts: Mapping[str, float] = field(default_factory=lambda: {"chat": 1.0})
    system_prompts: tuple[str, ...] = ()
    system_share: float = 0.0  # share of requests that carry a system prompt
    models: Mapping[str, float] = field(default_factory=lambda: {"flagship": 0.6, "mini": 0.4})
    new_model_share: float = 0.25  # eventual share of traffic moving to the new model
    new_model_tau_h: float = 96.0  # adoption time constant after release (hours)
    reasoning_ratio: float = SERVEGEN_R1_REASON_RATIO  # reasoning share of output on reasoning models
    logprobs: float = 0.01
    stream: float = 0.7  # share of accounts whose client streams
    temperatures: tuple[float | None, ...] = (None, None, 0.7, 1.0, 0.2)
    end_user_share: float = 0.0  # share of requests that pass an end-user id
    end_users: int = 0  # distinct end users behind one account (Zipf-distributed)
    keys: tuple[int, int] = (1, 2)  # API keys per account
    conversation: str = "session"  # session | request | none
    error: float = 0.004
    rate_limited: float = 0.003
    refused: float = 0.002

    def with_overrides(self, overrides: Mapping[str, Any] | None) -> Profile:
        """A copy with scenario-file overrides applied (unknown names are a user error)."""
        if not overrides:
            return self
        names = {f.name for f in dataclasses.fields(self)}
        changes: dict[str, Any] = {}
        for key, value in overrides.items():
            if key not in names or key == "name":
                raise DistillguardError(f"persona {self.name}: unknown parameter {key!r}")
            if key == "timing":
                try:
                    changes[key] = dataclasses.replace(self.timing, **dict(value))
                except (TypeError, ValueError) as err:
                    raise DistillguardError(f"persona {self.name}: bad timing override: {err}") from None
            elif isinstance(getattr(self, key), tuple) and isinstance(value, list):
                changes[key] = tuple(value)
            else:
                changes[key] = value
        return dataclasses.replace(self, **changes)
