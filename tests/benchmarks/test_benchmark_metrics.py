"""Unit tests of the benchmark metrics (pure functions, no model)."""

from __future__ import annotations

import pytest

from benchmarks.metrics import (
    answer_recall,
    answer_recall_any,
    contains,
    evidence_recall,
    nontrivial_answers,
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


def test_nontrivial_answers_keep_answers_missing_from_the_input() -> None:
    # the simplest definition scores every item with a non-trivial answer: no context filter
    assert nontrivial_answers(["Paris"], "Capital of France?") == ["paris"]
    assert nontrivial_answers(["The  Paris!", "paris"], "Capital of France?") == ["paris"]
    assert nontrivial_answers(["yes", "NO", "", "..."], "Is it?") == []
    # inside the question (as a normalised substring): nothing to learn from its survival
    assert (
        nontrivial_answers(["Arthur's Magazine"], "Which came first, Arthur's Magazine or Ms?")
        == []
    )
    assert nontrivial_answers(["France"], "Is France's capital Paris?") == []


def test_answer_recall_any_scores_items_whose_answer_is_not_in_the_input() -> None:
    ans = nontrivial_answers(["Paris"], "Capital of France?")
    kept = ["Lyon is big.", "Marseille is old."]
    assert answer_recall_any(kept, ans) == 0.0  # counted, and lost: not None
    assert (
        answer_recall(kept, scorable_answers(["Paris"], "Capital of France?", " ".join(kept)))
        is None
    )


def test_answer_recall_any_matches_the_joined_text_as_a_substring() -> None:
    ans = nontrivial_answers(["Wilhelm Conrad Röntgen"], "who got the first nobel prize in physics")
    # split across two documents: the joined text holds it (the per-document definition does not)
    assert answer_recall_any(["to Wilhelm Conrad", "Röntgen, of Germany"], ans) == 1.0
    assert answer_recall(["to Wilhelm Conrad", "Röntgen, of Germany"], ans) == 0.0
    # normalisation applies to the kept text: case, punctuation, articles, spacing
    assert answer_recall_any(["WILHELM  Conrad-Röntgen"], ["wilhelm conradröntgen"]) == 1.0
    assert (
        answer_recall_any(["The Eiffel Tower."], nontrivial_answers(["eiffel tower"], "q")) == 1.0
    )
    # a plain substring: no word boundaries
    assert answer_recall_any(["He won in 19012."], ["1901"]) == 1.0
    assert answer_recall_any(["He won in 1902."], ["1901"]) == 0.0
    assert answer_recall_any(["", ""], ["1901"]) == 0.0
    # any of several answers is enough; no answers: nothing to score
    assert answer_recall_any(["It is Lutetia."], ["paris", "lutetia"]) == 1.0
    assert answer_recall_any(["anything"], []) is None


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
