"""Spans never cut a grapheme cluster (issue 25, item 11): not in segmentation's fixed-width
fallback for text without spaces, not in the final cut to the budget."""

from __future__ import annotations

import unicodedata

import pytest
import regex

from semtoken_rag import SemTokenCompressor
from semtoken_rag.pipeline.segment import segment
from semtoken_rag.tokens import resolve_counter, truncate_to_tokens

TEXTS = {
    "thai": "ภาษาไทยเป็นภาษาที่มีระดับเสียงของคำแน่นอนหรือวรรณยุกต์เช่นเดียวกับภาษาจีน" * 40,
    "emoji zwj": "family👩‍👩‍👧fun👨‍👩‍👦pride🏳️‍🌈ok👍🏽" * 300,
    "decomposed accents": unicodedata.normalize("NFD", "éèêëàâîïôûçñ" * 400),
}


def boundaries(text: str) -> set[int]:
    return {0, *(m.end() for m in regex.finditer(r"\X", text))}


@pytest.mark.parametrize("text", TEXTS.values(), ids=list(TEXTS))
def test_segmentation_cuts_only_between_clusters(text: str) -> None:
    ok = boundaries(text)
    pieces = segment(text, max_tokens=8, count=resolve_counter(None))
    assert len(pieces) > 3
    assert all(p.start in ok and p.end in ok for p in pieces)


@pytest.mark.parametrize("text", TEXTS.values(), ids=list(TEXTS))
def test_truncation_cuts_only_between_clusters(text: str) -> None:
    ok = boundaries(text)
    count = resolve_counter(None)
    for n in range(1, 40):
        assert len(truncate_to_tokens(text, n, count)) in ok


@pytest.mark.parametrize("text", TEXTS.values(), ids=list(TEXTS))
def test_compressed_spans_keep_clusters_whole(compressor: SemTokenCompressor, text: str) -> None:
    ok = boundaries(text)
    for budget in (3, 9, 40):
        r = compressor.compress("what does it say?", [text, "A plain sentence."], budget=budget)
        assert r.kept_tokens <= budget
        for s in r.spans:
            if s.doc_index == 0:
                assert s.start in ok and s.end in ok, (budget, s.start, s.end)
