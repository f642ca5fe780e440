from __future__ import annotations

import pytest
from growth import exponent
from hypothesis import given, settings
from hypothesis import strategies as st

from semtoken_rag.pipeline.layout import read_layout
from semtoken_rag.pipeline.segment import segment, split_sentences
from semtoken_rag.tokens import resolve_counter

CLAUSE_MARKS = ",;:-–—"


def texts(doc: str) -> list[str]:
    return [doc[p.start : p.end] for p in segment(doc)]


def test_sentences_respect_abbreviations_numbers_and_urls() -> None:
    doc = (
        "Dr. Smith paid $3.50 on Jan. 5 at example.com/a.b. "
        "The U.S. economy grew 2.5% in Q3. See Fig. 2 and config.json, e.g. the keys! Done?"
    )
    assert texts(doc) == [
        "Dr. Smith paid $3.50 on Jan. 5 at example.com/a.b.",
        "The U.S. economy grew 2.5% in Q3.",
        "See Fig. 2 and config.json, e.g. the keys!",
        "Done?",
    ]


def test_two_spaces_after_a_period_end_a_sentence_that_goes_on_in_lower_case() -> None:
    # GNU docs, man pages and licences put two spaces after a sentence; one that opens with a
    # program's name ("man-db", "dpkg") was run into the one before (FINDINGS 20.7)
    doc = (
        "Translations may use a different encoding than the terminal does.  man-db uses "
        "gettext, which is more robust. It costs approx.  three seconds, e.g.  less."
    )
    assert texts(doc) == [
        "Translations may use a different encoding than the terminal does.",
        "man-db uses gettext, which is more robust.",
        "It costs approx.  three seconds, e.g.  less.",
    ]


def test_lines_lists_tables_and_code_are_respected() -> None:
    doc = "Intro line:\n- first item\n- second item\n| a | b |\n| 1 | 2 |\n\nx = f(1)\nreturn x"
    assert texts(doc) == [
        "Intro line:",
        "- first item",
        "- second item",
        "| a | b |",
        "| 1 | 2 |",
        "x = f(1)",
        "return x",
    ]


def test_cjk_sentence_punctuation() -> None:
    doc = "今天天气很好。我们去公园吧！你去吗？"
    assert texts(doc) == ["今天天气很好。", "我们去公园吧！", "你去吗？"]


def test_long_sentence_is_split_at_clauses() -> None:
    doc = (
        "The committee met on Monday to discuss the budget, the hiring plan and the new office; "
        "after a long debate, which lasted well into the evening, it approved all three items, "
        "although two members abstained from the final vote on the office lease."
    )
    pieces = segment(doc, max_tokens=20, count=lambda s: len(s.split()))
    assert len(pieces) > 1
    assert len({p.sentence for p in pieces}) == 1
    assert all(len(doc[p.start : p.end].split()) <= 20 for p in pieces)


def test_huge_unpunctuated_text_is_bounded() -> None:
    doc = "word " * 20_000
    pieces = segment(doc, max_tokens=40)
    assert len(pieces) > 100
    assert all(p.end - p.start < 2_000 for p in pieces)


def test_no_whitespace_blob_is_cut() -> None:
    doc = "x" * 50_000
    pieces = segment(doc, max_tokens=40)
    assert "".join(doc[p.start : p.end] for p in pieces) == doc


def test_split_sentences_example() -> None:
    t = "He left at 5 p.m. today. Fine."
    assert [t[a:b] for a, b in split_sentences(t)] == ["He left at 5 p.m. today.", "Fine."]


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=400))
def test_pieces_are_exact_ordered_and_stripped(doc: str) -> None:
    pieces = segment(doc, max_tokens=8)
    last = 0
    for p in pieces:
        piece = doc[p.start : p.end]
        assert piece and piece == piece.strip()
        assert p.start >= last
        last = p.end
    # every non-space character of the layout's content is covered by some piece, but the
    # clause marks at a cut (headings, markup and boilerplate are not content)
    covered = set()
    for p in pieces:
        covered.update(range(p.start, p.end))
    for b in read_layout(doc).content():
        assert all(
            doc[i].isspace() or doc[i] in CLAUSE_MARKS or i in covered
            for i in range(b.start, b.end)
        )


# --- issue 16, item 1: every segmentation path is linear ----------------------------------------

# Each makes a document of about n pieces (or n characters of one run) on one line.
ADVERSARIAL = {
    "periods": lambda n: ". " * n,
    "question marks": lambda n: "? " * n,
    "ellipses": lambda n: "… " * n,
    "closing brackets": lambda n: ".) " * n,
    "mixed marks": lambda n: ". - , ; : ? ! " * (n // 7),
    "dash rule": lambda n: "- " * n,
    "dot leaders": lambda n: "Chapter 1 " + ". " * n + "5",
    "run of periods before a word": lambda n: "." * n + "x",
    "run of question marks before a word": lambda n: "?" * n + "x",
    "commas": lambda n: ", " * n,
    "clauses": lambda n: "word — " * (n // 2),
    "abbreviations": lambda n: "e.g. " * n,
    "initials": lambda n: "J. " * n,
    "words": lambda n: "word " * n,
}


@pytest.mark.parametrize("make", ADVERSARIAL.values(), ids=list(ADVERSARIAL))
def test_segmentation_grows_linearly_on_punctuation_runs(make) -> None:
    # was 1.75 / 6.8 / 19.9 s at 5k / 10k / 20k pieces of ". " (exponent ~1.8): _absorb_punctuation
    # re-scanned a growing merged piece and deleted from the middle of a list; a run of marks
    # before a word made the sentence-end regex backtrack (quadratic in the run)
    count = resolve_counter(None)
    slope = exponent(lambda n: segment(make(n), count=count), 4000, 16000)
    assert slope < 1.45, f"segmentation time grows as n^{slope:.2f}"


def test_a_line_of_punctuation_is_one_piece_and_leaders_are_no_content() -> None:
    """A line of punctuation is one piece; a table of contents' entries (dot leaders to a page
    number) are boilerplate, never cut at each of their dots (FINDINGS 21.2)."""
    assert texts(". " * 50) == [(". " * 50).strip()]
    doc = "Chapter 1 . . . . . . 5\nChapter 2 . . . . . . 9\nThe book starts here. It goes on."
    assert texts(doc) == ["The book starts here.", "It goes on."]


# --- issue 16, item 10: kept clause pieces do not end in a dangling separator -------------------


def test_clause_pieces_do_not_end_in_a_dangling_mark() -> None:
    doc = (
        "The committee met on Monday to discuss the budget, the hiring plan and the new office; "
        "after a long debate: which lasted well into the evening — it approved all three items, "
        "although two members - both new - abstained from the final vote on the office lease."
    )
    pieces = segment(doc, max_tokens=8, count=lambda s: len(s.split()))
    shown = [doc[p.start : p.end] for p in pieces]
    assert len(shown) > 4
    assert all(doc[p.start : p.end] == t for p, t in zip(pieces, shown))
    assert not [t for t in shown[:-1] if t[-1] in CLAUSE_MARKS], shown
    assert shown[-1].endswith("lease.")


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(["word", "Dr.", "3.5", ",", ";", ":", "-", "--", "—", "end.", "why?"]),
        max_size=120,
    )
)
def test_no_clause_piece_ends_in_a_mark(words: list[str]) -> None:
    doc = " ".join(words)
    pieces = segment(doc, max_tokens=6, count=lambda s: len(s.split()))
    for p, nxt in zip(pieces, pieces[1:]):
        piece = doc[p.start : p.end]
        if nxt.sentence == p.sentence and piece.strip(CLAUSE_MARKS + " "):
            # a piece followed by another piece of its sentence ends at a clause cut
            assert piece[-1] not in ",;:" and not piece.endswith((" -", " --", " —")), piece
