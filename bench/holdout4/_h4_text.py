"""The words clients wrap around real prompts: harness formats, framework frames, fleet templates,
and the adaptive attacker's paraphraser.

Why each is realistic:
- Evaluation harness formats are the public harnesses' own chain-of-thought formats (lm-eval's
  zero-shot CoT "Let's think step by step.", OpenAI simple-evals' MATH query template, the
  inspect_evals GSM8K template, MATH-500's "Please reason step by step" suffix as stored in
  the corpus). Two organisations that use the same harness send byte-identical wrappers.
- Framework frames are LangChain's ReAct prompt (hub ``hwchase17/react``) and AutoGen's
  ``AssistantAgent`` default system message (quoted in part), shared verbatim by every user
  of the framework.
- The classic fleet uses three fixed templates, one of them the public record's own phrase.
- The adaptive attacker never sends the same wrapper twice: a grammar of a few hundred
  phrases composes a fresh request for reasoning around each real item (several million
  combinations, plus word-order, punctuation and typo noise), the way a paraphrasing model
  would.
"""

from __future__ import annotations

import numpy as np

HARNESS_FORMATS: dict[str, str] = {
    "lmeval_gsm8k_cot": "Q: {q}\nA: Let's think step by step.",
    "lmeval_bbh_cot": "{q}\nA: Let's think step by step.",
    "simple_evals_math": (
        "Solve the following math problem step by step. The last line of your response should be of "
        "the form Answer: $ANSWER (without quotes) where $ANSWER is the answer to the problem.\n\n{q}\n\n"
        'Remember to put your answer on its own line after "Answer:", and you do not need to use a '
        "\\boxed command."
    ),
    "inspect_gsm8k": (
        "Solve the following math problem step by step. The last line of your response should be of the "
        'form "ANSWER: $ANSWER" (without quotes) where $ANSWER is the answer to the problem.\n\n{q}\n\n'
        'Remember to put your answer on its own line at the end in the form "ANSWER: $ANSWER" (without '
        "quotes) where $ANSWER is the answer to the problem, and you do not need to use a \\boxed "
        "command.\n\nReasoning:"
    ),
    "math500_suffix": "{q}\nPlease reason step by step, and put your final answer within \\boxed{{}}.",
    "show_reasoning": "Solve the following problem. Show your reasoning, then give the final answer.\n\n{q}",
    "humaneval_plain": "Complete the following Python function.\n\n```python\n{q}```",
    "humaneval_reason": (
        "Think step by step about the specification and edge cases, then complete the function. "
        "Show your reasoning before the code.\n\n```python\n{q}```"
    ),
}

REACT_FRAME = (
    "Answer the following questions as best you can. You have access to the following tools:\n\n"
    "{tools}\n\nUse the following format:\n\nQuestion: the input question you must answer\n"
    "Thought: you should always think about what to do\nAction: the action to take, should be one "
    "of [{tool_names}]\nAction Input: the input to the action\nObservation: the result of the action\n"
    "... (this Thought/Action/Action Input/Observation can repeat N times)\nThought: I now know the "
    "final answer\nFinal Answer: the final answer to the original input question\n\nBegin!"
)
AUTOGEN_FRAME = (
    "You are a helpful AI assistant.\nSolve tasks using your coding and language skills.\nIn the "
    "following cases, suggest python code (in a python coding block) or shell script (in a sh coding "
    "block) for the user to execute.\n    1. When you need to collect info, use the code to output the "
    "info you need, for example, browse or search the web, download/read a file, print the content of "
    "a webpage or a file, get the current date/time, check the operating system. After sufficient info "
    "is printed and the task is ready to be solved based on your language skill, you can solve the "
    "task by yourself.\n    2. When you need to perform some task with code, use the code to perform "
    "the task and output the result. Finish the task smartly.\nSolve the task step by step if you need "
    "to. If a plan is not provided, explain your plan first. Be clear which step uses code, and which "
    'step uses your language skill.\nReply "TERMINATE" in the end when everything is done.'
)

FLEET_SYSTEM = (
    "You are a meticulous reasoning engine. Always articulate the complete internal reasoning behind "
    "your answer, step by step, before stating the final answer."
)
FLEET_TEMPLATES: tuple[str, ...] = (
    "Articulate the internal reasoning behind a completed response, step by step.\n\nQuestion: {q}",
    "Solve the problem below. Think step by step and write out every intermediate step of your "
    "reasoning before the final answer.\n\nProblem: {q}",
    "{q}\n\nExplain your reasoning step by step in full detail, then give the final answer.",
)

ENTERPRISE_JOBS: tuple[tuple[str, str], ...] = (
    (
        "summarize",
        "Summarize the following customer message for the support queue in 3 bullet points.\n\n{q}",
    ),
    (
        "triage",
        "Read the support ticket below. Think step by step about the likely root cause, then output one "
        "category from: billing, bug, account, feature_request, other.\n\nTicket:\n{q}",
    ),
    ("extract", "Extract every product name, date and amount mentioned in the text below as JSON.\n\n{q}"),
)

#: An introductory course's assignment questions, pasted by students (invented; the shape of
#: a real week: the same dozen questions from hundreds of students).
COURSE_QUESTIONS: tuple[str, ...] = (
    "Explain step by step how binary search finds an element in a sorted array and why it runs in O(log n).",
    "What is the difference between a list and a tuple in Python? Give an example of when to use each.",
    "Walk me through how Dijkstra's algorithm computes shortest paths on this graph: "
    "A-B 4, A-C 2, C-B 1, B-D 5, C-D 8.",
    "Why does my recursive fibonacci function get so slow for n=40, and how does memoization fix it?",
    "Explain the bias-variance tradeoff with a simple example.",
    "Prove by induction that 1 + 2 + ... + n = n(n+1)/2. Show every step.",
    "What does the p-value in a t-test mean, in plain language?",
    "How do I read a CSV file with pandas and compute the mean of one column grouped by another?",
    "Explain big-O notation for nested loops, step by step, using a double for-loop over n items.",
    "What is a hash table and what happens on a collision?",
    "Compute the derivative of x^3 * sin(x) and explain each rule you use.",
    "Explain the difference between supervised and unsupervised learning with two examples each.",
)

_INTROS = (
    "",
    "",
    "",
    "",
    "Quick question.",
    "Hey!",
    "Hi,",
    "Need some help here.",
    "I'm studying for an exam.",
    "Working through a problem set tonight.",
    "My kid brought this home and I'm stuck.",
    "ok so",
    "Been staring at this for a while.",
    "From a practice sheet:",
    "Random one for you:",
    "Help pls",
    "This came up at work today.",
    "Trying to get better at these.",
    "For my notes:",
    "Curious about this one.",
    "Can't figure this out.",
    "I keep getting a different answer than the book.",
    "Homework, sorry!",
    "Brain teaser time.",
    "One more:",
    "Got another one.",
)
_ASKS = (
    "can you",
    "could you",
    "would you",
    "please",
    "pls",
    "I'd like you to",
    "I want you to",
    "mind if you",
    "try to",
    "",
    "help me and",
    "would you kindly",
)
_VERBS = (
    "walk me through",
    "explain",
    "lay out",
    "go through",
    "break down",
    "show me",
    "spell out",
    "narrate",
    "describe",
    "detail",
    "unpack",
    "trace",
    "write out",
    "take me through",
    "talk through",
    "reason out",
)
_OBJECTS = (
    "how you'd solve it",
    "your full reasoning",
    "every step of your thinking",
    "the reasoning behind each step",
    "your thought process",
    "how you get to the answer",
    "the logic from start to finish",
    "each intermediate step",
    "what you're thinking at each point",
    "the whole chain of reasoning",
    "how to work it out",
    "the steps one by one",
    "why each step follows",
    "the derivation",
    "the solution path",
    "your working",
)
_MANNERS = (
    "",
    "",
    "carefully",
    "in detail",
    "one step at a time",
    "slowly",
    "thoroughly",
    "without skipping anything",
    "as if teaching a beginner",
    "in plain words",
    "like a tutor would",
    "really explicitly",
    "in full",
    "bit by bit",
    "clearly",
)
_ENDINGS = (
    "",
    "",
    "before giving the answer",
    "and then state the final answer",
    "then give me the result",
    "and finish with the answer on its own line",
    "and double-check it at the end",
    "and tell me how sure you are",
    "and box the final answer",
    "then summarize in one line",
    "before you answer",
    "and only then the answer",
)
_LEADS = ("", "", "Problem:", "Question:", "Here it is:", "Q:", "---", "The problem:", "Task:", ">>", "")
_ENDS = (".", "?", "!", "", ". thanks", "? thx", ". Thank you!", " :)", "...")


def _typo(rng: np.random.Generator, s: str) -> str:
    """Swap two adjacent letters in one word (people and paraphrasers both leave noise)."""
    words = s.split(" ")
    cands = [i for i, w in enumerate(words) if len(w) > 4 and w.isalpha()]
    if not cands:
        return s
    i = int(rng.choice(cands))
    w = words[i]
    j = int(rng.integers(1, len(w) - 2))
    words[i] = w[:j] + w[j + 1] + w[j] + w[j + 2 :]
    return " ".join(words)


def paraphrase_cot(rng: np.random.Generator, item: str) -> str:
    """A fresh request for step-by-step reasoning around ``item``; no two share a wrapper string."""
    pick = lambda xs: xs[int(rng.integers(len(xs)))]  # noqa: E731
    ask = " ".join(
        x for x in (pick(_ASKS), pick(_VERBS), pick(_OBJECTS), pick(_MANNERS), pick(_ENDINGS)) if x
    ).strip()
    ask = ask[0].upper() + ask[1:] + pick(_ENDS)
    if rng.random() < 0.25:
        ask = _typo(rng, ask)
    if rng.random() < 0.2:
        ask = ask.lower()
    intro = pick(_INTROS)
    lead = pick(_LEADS)
    body = f"{lead} {item}".strip() if lead else item
    order = rng.random()
    sep = pick(("\n\n", "\n", " ", "\n\n"))
    if order < 0.45:
        parts = [intro, body, ask]
    elif order < 0.9:
        parts = [intro, ask, body]
    else:
        parts = [ask, intro, body]
    return sep.join(p for p in parts if p)
