from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from semtoken_rag.pipeline.segment import segment, split_sentences


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


def test_lines_lists_tables_and_code_are_respected() -> None:
    doc = "Intro line\n- first item\n- second item\n| a | b |\n| 1 | 2 |\n\nx = f(1)\nreturn x"
    assert texts(doc) == [
        "Intro line",
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
    # every non-space character is covered by some piece
    covered = set()
    for p in pieces:
        covered.update(range(p.start, p.end))
    assert all(i in covered for i, ch in enumerate(doc) if not ch.isspace())
