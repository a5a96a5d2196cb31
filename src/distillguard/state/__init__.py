"""Continuous detection: a persistent state that each increment of events updates.

``run_increment(state_dir, inputs, out)`` adds the events newer than the state's watermark
(late ones within ``StateParams.allowed_lateness_h`` merged, older ones and known event ids
rejected with a reason), commits them crash-safely, scores the state and records verdicts;
``flagged_at`` is the watermark of the first increment that flagged an account. The CLI is
``distillguard scan EVENTS --state DIR``.
"""

from distillguard.state._increment import IncrementResult, StateParams, run_increment
from distillguard.state._store import StateStore

__all__ = ["IncrementResult", "StateParams", "StateStore", "run_increment"]
