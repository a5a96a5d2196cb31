"""Per-request text and token columns built from the real corpora in `_h3_world.World`.

The only invented text is the framing real clients wrap around real prompts: agent
framework system prompts (quoted from the frameworks' public defaults), rubric headers
of labelling vendors, and the paraphrase set of the reasoning-extraction campaign
(modelled on the public record's quoted instruction, "articulate the internal reasoning
behind a completed response, step by step").
"""

from __future__ import annotations

import numpy as np
from _h3_core import hexes, pick, tokens_of
from _h3_world import World

#: LangChain's published ReAct prompt (hwchase17/react), AutoGen's default assistant system
#: message, CrewAI's agent frame and the OpenAI Agents SDK default: thousands of unrelated
#: users send these exact frames.
AGENT_FRAMES = np.array(
    [
        "Answer the following questions as best you can. You have access to the following "
        "tools:\n\n{tools}\n\n"
        "Use the following format:\n\nQuestion: the input question you must answer\nThought: you should "
        "always "
        "think about what to do\nAction: the action to take, should be one of [{tool_names}]\nAction "
        "Input: the "
        "input to the action\nObservation: the result of the action\n... (this Thought/Action/Action Input/"
        "Observation can repeat N times)\nThought: I now know the final answer\nFinal Answer: the final "
        "answer to "
        "the original input question\n\nBegin!",
        "You are a helpful AI assistant. Solve tasks using your coding and language skills. In the "
        "following cases, "
        "suggest python code (in a python coding block) or shell script (in a sh coding block) for the "
        "user to "
        'execute. Reply "TERMINATE" in the end when everything is done.',
        "You are {role}. {backstory}\nYour personal goal is: {goal}\nYou ONLY have access to the following "
        "tools, "
        "and should NEVER make up tools that are not listed here:\n\n{tools}",
        "You are a helpful assistant. Use the provided tools when they help answer the user's request.",
    ],
    dtype=object,
)
AGENT_FRAME_CLIENT = np.array(["langchain", "autogen", "crewai", "py_openai"], dtype=object)

#: Chain-of-thought instructions enterprises and eval teams append (the public
#: zero-shot-CoT phrasing and close variants).
COT_SUFFIXES = np.array(
    [
        "\nLet's think step by step.",
        "\nThink step by step and show your reasoning before giving the final answer.",
        "\nExplain your reasoning, then give the final answer on the last line as 'Answer: <answer>'.",
    ],
    dtype=object,
)


def chat(
    rng: np.random.Generator, w: World, n: int, *, mix: dict[str, float] | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(prompt, input tokens, output tokens) for ordinary chat: real prompts, real Azure
    token sizes (the context grows with conversation history, so input >= prompt)."""
    mix = mix or {
        "sharegpt": 0.62,
        "arena": 0.14,
        "roles": 0.08,
        "selfinstruct_user": 0.06,
        "mt_bench": 0.04,
        "simpleqa": 0.06,
    }
    names = list(mix)
    p = np.array(list(mix.values()))
    which = rng.choice(len(names), size=n, p=p / p.sum())
    prompt = np.empty(n, dtype=object)
    for j, name in enumerate(names):
        sel = np.flatnonzero(which == j)
        prompt[sel] = pick(rng, w.prompts[name], len(sel))
    tok = w.chat_tokens[rng.integers(0, len(w.chat_tokens), size=n)]
    return prompt, np.maximum(tokens_of(prompt), tok[:, 0]), np.maximum(tok[:, 1], 1)


def code(rng: np.random.Generator, w: World, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Developer requests: real code prompts with real Azure token sizes."""
    src = np.array(["sharegpt", "arena", "mbpp", "humaneval", "wizard"], dtype=object)
    which = rng.choice(len(src), size=n, p=[0.5, 0.2, 0.12, 0.08, 0.1])
    prompt = np.empty(n, dtype=object)
    for j, name in enumerate(src):
        sel = np.flatnonzero(which == j)
        prompt[sel] = pick(rng, w.prompts[name], len(sel))
    # Half are completion-style calls (Azure code trace: short outputs), half chat about code.
    tok = np.where(
        (rng.random(n) < 0.5)[:, None],
        w.code_tokens[rng.integers(0, len(w.code_tokens), size=n)],
        w.chat_tokens[rng.integers(0, len(w.chat_tokens), size=n)],
    )
    return prompt, np.maximum(tokens_of(prompt), tok[:, 0]), np.maximum(tok[:, 1], 1)


def conv_ids(rng: np.random.Generator, acct: np.ndarray, rank: np.ndarray, turns: float) -> np.ndarray:
    """Conversation ids: consecutive requests of one account share one for ~``turns`` turns."""
    key = acct.astype(np.int64) * 1_000_000 + rank // max(1, int(turns))
    uniq, inv = np.unique(key, return_inverse=True)
    return hexes(rng, len(uniq), "conv_", 16)[inv]


def cot_output(rng: np.random.Generator, n: int, median: float = 650.0) -> np.ndarray:
    """Output length of a worked step-by-step answer (GSM8K reference CoTs run ~100-300
    tokens; frontier models write 2-5x longer)."""
    return (median * np.exp(0.45 * rng.standard_normal(n))).astype(np.int64) + 40
