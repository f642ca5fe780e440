"""Unit tests of the benchmark metrics (pure functions, no model)."""

from __future__ import annotations

import pytest

from benchmarks.metrics import (
    answer_recall,
    contains,
    evidence_recall,
    normalize,
    overrun,
    scorable_answers,
)


@pytest.mark.parametrize(
    ("raw", "norm"),
    [
        ("The Eiffel Tower", "eiffel tower"),
        ("  A  cat,   an owl; THE end! ", "cat owl end"),
        ("Wilhelm Conrad Röntgen.", "wilhelm conrad röntgen"),
        ("theory anthem", "theory anthem"),  # articles only as whole words
        ("U.S.-based", "usbased"),
        ("", ""),
    ],
)
def test_normalize(raw: str, norm: str) -> None:
    assert normalize(raw) == norm


def test_contains_needs_word_boundaries() -> None:
    assert contains("won in 1901 by", "1901")
    assert not contains("won in 19012 by", "1901")
    assert not contains("anything", "")


def test_yes_no_and_question_answers_are_skipped() -> None:
    assert scorable_answers(["yes"], "Is it?") == []
    assert scorable_answers(["No"], "Is it?") == []
    # comparison question: the answer is already in the question, its survival proves nothing
    assert (
        scorable_answers(["Arthur's Magazine"], "Which came first, Arthur's Magazine or Ms?") == []
    )
    assert scorable_answers(["Paris", "paris"], "Capital of France?") == ["paris"]


def test_answers_absent_from_the_input_are_skipped() -> None:
    assert scorable_answers(["Paris"], "Capital of France?", context="Lyon is big.") == []
    assert scorable_answers(["Paris"], "Capital of France?", context="It is Paris.") == ["paris"]


def test_answer_recall() -> None:
    ans = scorable_answers(["Wilhelm Conrad Röntgen"], "who got the first nobel prize in physics")
    assert answer_recall(["In 1901 to Wilhelm Conrad Röntgen, of Germany.", ""], ans) == 1.0
    assert answer_recall(["Nothing here."], ans) == 0.0
    # an answer split across two documents did not survive
    assert answer_recall(["to Wilhelm Conrad", "Röntgen, of Germany"], ans) == 0.0
    assert answer_recall(["anything"], []) is None


def test_evidence_recall_counts_whole_sentences_in_their_own_document() -> None:
    docs = ["Ada wrote it. Bob read it.", "Cy slept. Bob read it."]
    ev = [(0, 0, 13), (0, 14, 26), (1, 0, 9)]
    assert evidence_recall(["Ada wrote it. Bob read it.", "Cy slept."], docs, ev) == 1.0
    # a sentence cut short does not count
    assert evidence_recall(["Ada wrote", "Cy slept."], docs, ev) == pytest.approx(1 / 3)
    # the same words kept in another document do not count for this one
    assert evidence_recall(["", "Bob read it."], docs, [(0, 14, 26)]) == 0.0
    # punctuation and spacing changes do not matter
    assert evidence_recall(["ada  wrote it"], docs, [(0, 0, 13)]) == 1.0
    assert evidence_recall(["x"], ["x"], []) is None


def test_overrun() -> None:
    assert overrun(110, 100) == 10
    assert overrun(90, 100) == 0
