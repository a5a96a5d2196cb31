"""The issue's hostile inputs, run through the CLI in a subprocess (cases in fuzz_corpus.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fuzz_corpus import CASES, Case, run_case

#: Corpus cases that still fail, with the finding they track (/tmp/dg/fuzz_findings.md).
#: Strict: a case that starts passing fails here until its mark is removed.
XFAIL: dict[str, str] = {}


def _param(case: Case) -> object:
    marks = []
    if case.slow:
        marks.append(pytest.mark.slow)
    if case.name in XFAIL:
        marks.append(pytest.mark.xfail(strict=True, reason=XFAIL[case.name]))
    return pytest.param(case, id=case.name, marks=marks)


@pytest.mark.parametrize("case", [_param(c) for c in CASES])
def test_corpus_case(case: Case, tmp_path: Path) -> None:
    problem = run_case(case, tmp_path)
    assert problem is None, problem
