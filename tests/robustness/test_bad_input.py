"""Bad and pathological input (issue 8): each gives a clear error naming the parameter, or a valid
result. Items of the issue's list already tested in ``test_compressor.py`` are not repeated:
budget 0 / negative / NaN, ratio 0 / 1.5 / NaN, documents ``None`` / str / ``[None]`` / ``[b""]`` /
``[3.5]`` / ``[["nested"]]`` / a surrogate, query 42, the empty list, empty and white-space
documents next to a real one, and a small ``max_input_tokens`` refusal.
"""

from __future__ import annotations

import math
import time
from typing import Any

import pytest

from semtoken_rag import CompressionResult, SemTokenCompressor, SemTokenConfig
from semtoken_rag.testing import bag_of_words


@pytest.fixture(scope="module")
def fake() -> SemTokenCompressor:
    return SemTokenCompressor(encoder=bag_of_words)


def valid(c: SemTokenCompressor, docs: list[str], r: CompressionResult) -> None:
    assert len(r.documents()) == len(docs)
    assert r.kept_tokens <= r.budget
    assert sum(c.count_tokens(t) for t in r.documents() if t) == r.kept_tokens
    for s in r.spans:
        assert docs[s.doc_index][s.start : s.end] == s.text


# --- errors that name the parameter -----------------------------------------------------------


class Record:
    """A document object with ``page_content`` and ``metadata`` (as LangChain's)."""

    def __init__(self, text: str) -> None:
        self.page_content, self.metadata = text, {"id": 1}


@pytest.mark.parametrize(
    ("query", "docs", "kwargs", "error", "match"),
    [
        ("q", b"bytes", {}, TypeError, "documents"),
        ("q", bytearray(b"x"), {}, TypeError, "documents"),
        ("q", 5, {}, TypeError, "documents"),
        ("q", 2.5, {}, TypeError, "documents"),
        ("q", {"text": "a single mapping"}, {}, TypeError, "documents.*single"),
        ("q", Record("a single document object"), {}, TypeError, "documents.*single"),
        ("q", {"b.", "a."}, {}, TypeError, "documents.*ordered"),
        ("q", [[["deeply"], "nested"]], {}, TypeError, r"documents\[0\]"),
        ("q", [("text", {}, "extra")], {}, TypeError, r"documents\[0\]"),
        ("q", [("text", ["not", "a", "mapping"])], {}, TypeError, r"documents\[0\] metadata"),
        ("q", [{"text": 5}], {}, TypeError, r"documents\[0\] text"),
        ("q", ["fine", ("bad \udcff", {})], {}, ValueError, r"documents\[1\].*surrogate"),
        (b"query bytes", ["a"], {}, TypeError, "query"),
        (["q"], ["a"], {}, TypeError, "query"),
        ("\ud83d lone high surrogate", ["a"], {}, ValueError, "query.*surrogate"),
        ("q", ["a"], {"budget": float("inf")}, ValueError, "budget"),
        ("q", ["a"], {"budget": -math.inf}, ValueError, "budget"),
        ("q", ["a"], {"budget": 2.5}, ValueError, "budget"),
        ("q", ["a"], {"budget": True}, TypeError, "budget"),
        ("q", ["a"], {"budget": "10"}, TypeError, "budget"),
        ("q", ["a"], {"ratio": -0.1}, ValueError, "ratio"),
        ("q", ["a"], {"ratio": math.inf}, ValueError, "ratio"),
        ("q", ["a"], {"ratio": "0.5"}, TypeError, "ratio"),
        ("q", ["a"], {"ratio": True}, TypeError, "ratio"),
    ],
)
def test_bad_values_name_the_parameter(
    fake: SemTokenCompressor, query: Any, docs: Any, kwargs: dict, error: type, match: str
) -> None:
    with pytest.raises(error, match=match):
        fake.compress(query, docs, **kwargs)


# --- valid results ----------------------------------------------------------------------------


def test_only_empty_and_white_space_documents(fake: SemTokenCompressor) -> None:
    docs = ["", "   ", "\n\t", "\u3000"]
    for kwargs in ({"budget": 10}, {"ratio": 0.5}, {"ratio": 1}, {}):
        r = fake.compress("q", docs, **kwargs)
        assert all(t in ("", d) for t, d in zip(r.documents(), docs))  # dropped, or untouched
        valid(fake, docs, r)


def test_huge_budget_and_ratio_one_keep_everything(fake: SemTokenCompressor) -> None:
    docs = ["Alpha beta. Gamma delta!", "Epsilon zeta."]
    for kwargs in ({"budget": 10**100}, {"budget": 2**63}, {"budget": 1e300}, {"ratio": 1}):
        r = fake.compress("beta", docs, **kwargs)
        assert r.documents() == docs and r.budget <= 2**62


def test_budget_as_whole_float_and_tiny_ratio(fake: SemTokenCompressor) -> None:
    assert fake.compress("q", ["a b. c d."], budget=5.0).budget == 5
    r = fake.compress("q", ["Alpha beta. Gamma delta!"], ratio=1e-300)
    assert r.budget == 1 and r.kept_tokens <= 1


def test_generators_and_tuples_of_documents_are_accepted(fake: SemTokenCompressor) -> None:
    docs = ["Alpha beta.", "Gamma delta."]
    expected = fake.compress("beta", docs, budget=3).documents()
    assert fake.compress("beta", (d for d in docs), budget=3).documents() == expected
    assert fake.compress("beta", tuple(docs), budget=3).documents() == expected


def test_surrogates_in_metadata_do_not_break_anything(fake: SemTokenCompressor) -> None:
    docs = [("Alpha beta. Gamma.", {"title": "fine title", "x": "\udfff"})]
    r = fake.compress("beta", docs, budget=3)  # metadata is passed through, never read
    assert r.kept_tokens <= 3


def test_ratio_one_keeps_zero_token_text() -> None:
    c = SemTokenCompressor(encoder=bag_of_words, token_counter=lambda s: 0)
    assert c.compress("q", ["\x1b"], ratio=1).documents() == ["\x1b"]


def test_empty_and_10kb_queries(fake: SemTokenCompressor, compressor: SemTokenCompressor) -> None:
    docs = ["The fox ran. The dog slept in the sun.", "Cats purr."]
    for c in (fake, compressor):
        for q in ("", " \n ", "fox " * 2500, "狐" * 10_000):
            r = c.compress(q, docs, budget=5)
            valid(c, docs, r)
            assert r.query == (q if q.strip() else None)


SCRIPTS = {
    "zero-width": "Zero\u200bwidth\u200cjoiners\u200d here.\ufeff And a BOM. \u2060Word joiner.",
    "control": "Bell\x07 and escape\x1b[31m red\x1b[0m. Null\x00 byte. Delete\x7f. \x85Next line.",
    "emoji": "We won 🏆🎉! 👩‍👩‍👧 family emoji. Flags 🇫🇷🇩🇪 and skin 👍🏽.",
    "CJK": "東京は日本の首都です。人口は約千四百万人です！大阪は第二の都市です？",
    "Arabic": "القاهرة هي عاصمة مصر. يبلغ عدد سكانها أكثر من عشرين مليون نسمة.",
    "Hebrew": "ירושלים היא עיר עתיקה. היא קדושה לשלוש דתות.",
    "mixed": "Paris (パリ, باريس, פריז) est la capitale. 北京 is Beijing! Ελλάδα. Россия.",
    "combining": "Cafe\u0301 and nai\u0308ve. Z\u0351\u0352\u0353algo text̸̢. Done.",
    "only symbols": "\u200b\u200b\u200b\x00\x01",
}


@pytest.mark.parametrize("name", list(SCRIPTS))
def test_scripts_through_the_real_model(compressor: SemTokenCompressor, name: str) -> None:
    docs = [SCRIPTS[name], "Paris is the capital of France."]
    for q in ("What is the capital?", None, SCRIPTS[name][:20]):
        for budget in (1, 4, 12, 1000):
            r = compressor.compress(q, docs, budget=budget)
            valid(compressor, docs, r)
        assert compressor.compress(q, docs, budget=1000).documents() == docs


def test_100kb_sentence_without_punctuation(fake: SemTokenCompressor) -> None:
    blob = " ".join(f"w{i}" for i in range(25_000))[:100_000]
    r = fake.compress("w5", [blob], budget=50)
    valid(fake, [blob], r)
    assert 0 < r.kept_tokens <= 50
    nospace = "x" * 100_000
    r = fake.compress("x", [nospace], budget=50)
    valid(fake, [nospace], r)


def five_mb_document() -> str:
    """5 MB of varied prose: every sentence different (numbers and rotating words)."""
    words = [
        "river",
        "stone",
        "market",
        "engine",
        "violet",
        "harbor",
        "signal",
        "canvas",
        "meadow",
        "copper",
    ]
    out, size, i = [], 0, 0
    while size < 5_000_000:
        s = f"Sentence {i} mentions {words[i % 10]} and {words[(i * 7) % 10]} near {i * 13}. "
        out.append(s)
        size += len(s)
        i += 1
    return "".join(out)[:5_000_000]


@pytest.mark.slow
def test_one_5mb_document_is_refused_by_max_input_tokens_before_any_work() -> None:
    doc = five_mb_document()
    calls: list[int] = []

    def encoder(texts: list[str]) -> Any:
        calls.append(len(texts))
        return bag_of_words(texts)

    c = SemTokenCompressor(SemTokenConfig(max_input_tokens=100_000), encoder=encoder)
    t = time.perf_counter()
    with pytest.raises(ValueError, match="max_input_tokens=100000"):
        c.compress("copper", [doc], budget=100)
    assert calls == []  # refused after counting, before segmenting or encoding
    assert time.perf_counter() - t < 60


@pytest.mark.slow
def test_one_5mb_document_gives_a_valid_result() -> None:
    # Merging is off here; merging's growth is tested in test_pipeline_merge.py.
    doc = five_mb_document()
    c = SemTokenCompressor(SemTokenConfig(use_merging=False), encoder=bag_of_words, cache=None)
    r = c.compress("Which sentence mentions copper near 1300?", [doc], budget=200)
    valid(c, [doc], r)
    assert 0 < r.kept_tokens <= 200


@pytest.mark.slow
def test_10000_tiny_documents(fake: SemTokenCompressor) -> None:
    docs = [f"Doc {i} says {'alpha' if i % 97 == 0 else 'beta'}." for i in range(10_000)]
    r = fake.compress("alpha", docs, budget=100)
    valid(fake, docs, r)
    assert 0 < r.kept_tokens <= 100
