"""Template normalisation, stable ids, MinHash signatures, LSH families and frames."""

from __future__ import annotations

import hashlib

import numpy as np
import pyarrow as pa
import pytest

from distillguard.enrich.prompts import (
    choose_frame_ids,
    frame_parts,
    lsh_family_ids,
    minhash_signatures,
    normalize_templates,
    template_ids,
)
from distillguard.errors import DistillguardError


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("What is  17 * 23.5?", "what is <num> * <num>?"),
        (
            "Mail bob.smith@example.com or visit https://example.com/a?b=1 now",
            "mail <email> or visit <url> now",
        ),
        # capitalised words after a lower-case word become <name> (languages too: a slot)
        ('Translate "Guten Morgen, wie geht es?" into English', "translate <q> into <name>"),
        ("Fix this:\n```python\nprint('x')\n```\nthanks", "fix this: <code> thanks"),
        ("Run `ls -la` please", "run <code> please"),
        ("Write a letter to Alice Johnson about the meeting", "write a letter to <name> about the meeting"),
        ("Summarize the 'quarterly report' for me", "summarize the <q> for me"),
        ("Don't panic, it's fine", "don't panic, it's fine"),
        ("  Many\n\n\tspaces  ", "many spaces"),
    ],
)
def test_normalize_templates(text: str, want: str) -> None:
    assert normalize_templates(pa.array([text])).to_pylist() == [want]


def test_normalize_keeps_nulls_and_length() -> None:
    out = normalize_templates(pa.chunked_array([["A 1", None], ["a 2"]]))
    assert out.to_pylist() == ["a <num>", None, "a <num>"]


def test_template_ids_are_stable_blake2b() -> None:
    ids = template_ids(pa.array(["Add 2 and 3", "add 40 and 7", "Add two and three", None]))
    values = ids.to_pylist()
    assert ids.type == pa.int64()
    assert values[0] == values[1] != values[2]
    assert values[3] is None
    expected = int.from_bytes(
        hashlib.blake2b(b"add <num> and <num>", digest_size=8, person=b"dg-template").digest(),
        "little",
        signed=True,
    )
    assert values[0] == expected  # pinned: ids must not change across releases


def test_minhash_shape_dtype_determinism_and_seed() -> None:
    texts = pa.array(
        ["the quick brown fox jumps", "the quick brown fox leaps", None, "totally different words here"]
    )
    a = minhash_signatures(texts, num_perm=32, seed=7)
    b = minhash_signatures(texts, num_perm=32, seed=7)
    c = minhash_signatures(texts, num_perm=32, seed=8)
    assert a.shape == (4, 32) and a.dtype == np.uint64
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    close = (a[0] == a[1]).mean()
    far = (a[0] == a[3]).mean()
    assert close > far


def test_minhash_estimates_jaccard() -> None:
    rng = np.random.default_rng(0)
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    vocab = sorted({"".join(rng.choice(letters, 7)) for _ in range(400)})
    base = list(rng.choice(vocab, 60, replace=False))
    variant = base[:45] + list(rng.choice(vocab, 15))
    sig = minhash_signatures(pa.array([" ".join(base), " ".join(variant)]), num_perm=256, shingle=1)
    true = len(set(base) & set(variant)) / len(set(base) | set(variant))
    assert abs((sig[0] == sig[1]).mean() - true) < 0.12


def test_lsh_families_group_paraphrases_and_are_order_independent() -> None:
    template = (
        "You are asked to come up with a set of {n} diverse task instructions. These task instructions "
        "will be given to a GPT model and we will evaluate the GPT model for completing the instructions. "
        "Here are the requirements: try not to repeat the verb for each instruction to maximize "
        "diversity. The language used for the instruction also should be diverse. List of {n} tasks: {task}"
    )
    variants = [
        template.format(n=n, task=task)
        for n, task in [(20, "write a poem"), (10, "classify the sentiment"), (15, "summarize an article")]
    ]
    variants.append(variants[0].replace("come up with", "produce").replace("diverse", "varied", 1))
    unrelated = ["How do I bake sourdough bread at home?", "Explain quantum entanglement to a child."]
    texts = variants + unrelated
    fam = lsh_family_ids(minhash_signatures(pa.array(texts)))
    assert len(set(fam[:4].tolist())) == 1
    assert len({fam[0], fam[4], fam[5]}) == 3
    perm = [5, 2, 0, 4, 1, 3]
    fam2 = lsh_family_ids(minhash_signatures(pa.array([texts[i] for i in perm])))
    assert fam2.tolist() == [fam[i] for i in perm]


def test_lsh_singleton_family_id_is_batch_independent() -> None:
    a = lsh_family_ids(minhash_signatures(pa.array(["alone in the world", "x y z"])))
    b = lsh_family_ids(minhash_signatures(pa.array(["something else entirely here", "alone in the world"])))
    assert a[0] == b[1]


def test_lsh_rejects_bad_banding() -> None:
    sig = minhash_signatures(pa.array(["a b c"]), num_perm=16)
    with pytest.raises(DistillguardError, match="bands"):
        lsh_family_ids(sig, bands=8, rows=4)


def test_frames_prefix_and_suffix() -> None:
    prefix_frame = "Solve the following. Think step by step and show all reasoning: {}"
    suffix_frame = "{} Please reason step by step, and put your final answer within the box."
    tasks = [
        "how many apples does tom have left after eating three",
        "a train leaves the station at noon",
        "find the area of a circle of radius r",
        "what is the derivative of x squared",
    ]
    texts = (
        [prefix_frame.format(t) for t in tasks] + [suffix_frame.format(t) for t in tasks] + ["hello there"]
    )
    norm = normalize_templates(pa.array(texts))
    head, tail = frame_parts(norm)
    tids = template_ids(norm, normalized=True)
    frame = choose_frame_ids(head, tail, tids).to_pylist()
    assert len(set(frame[:4])) == 1 and frame[0] == head[0].as_py()
    assert len(set(frame[4:8])) == 1 and frame[4] == tail[4].as_py()
    assert frame[0] != frame[4]
    assert frame[8] == tids[8].as_py()  # no shared frame: the template itself


def test_frame_needs_min_support() -> None:
    texts = pa.array(["alpha beta gamma delta one", "alpha beta gamma delta two"])
    head, tail = frame_parts(normalize_templates(texts), frame_words=4)
    tids = template_ids(texts)
    assert choose_frame_ids(head, tail, tids, min_support=3).to_pylist() == tids.to_pylist()
    assert set(choose_frame_ids(head, tail, tids, min_support=2).to_pylist()) == {head[0].as_py()}
