"""Budgeted selection: the knapsack and the coverage greedy."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from semtoken_rag import SemTokenCompressor
from semtoken_rag.config import Tuning
from semtoken_rag.pipeline.select import fill, knapsack, select
from semtoken_rag.types import SpanTable


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(st.floats(0.01, 10), st.integers(1, 20)), min_size=0, max_size=9),
    st.integers(0, 60),
)
def test_knapsack_is_optimal_and_within_budget(items: list[tuple[float, int]], budget: int) -> None:
    values = [v for v, _ in items]
    weights = [w for _, w in items]
    chosen = knapsack(values, weights, budget)
    assert sum(weights[i] for i in chosen) <= budget
    best = 0.0
    for r in range(len(items) + 1):
        for combo in itertools.combinations(range(len(items)), r):
            if sum(weights[i] for i in combo) <= budget:
                best = max(best, sum(values[i] for i in combo))
    assert sum(values[i] for i in chosen) >= best - 1e-6
    assert chosen == sorted(chosen)


def test_knapsack_large_input_stays_within_budget() -> None:
    rng = np.random.default_rng(0)
    values = rng.random(5000)
    weights = rng.integers(1, 50, 5000)
    chosen = knapsack(values, weights, 3000)
    assert weights[chosen].sum() <= 3000
    assert len(chosen) > 50


def test_fill_is_linear_in_the_pieces_of_one_long_sentence() -> None:
    # issue 25, item 2: fill() rebuilt a sentence's untaken members for every piece, so one long
    # unpunctuated sentence (a transcript, a log line, minified code) cost n^2: 0.2 / 1.0 / 15 s
    # at 100k / 200k / 800k characters in select alone
    from growth import exponent

    def run(n: int) -> None:
        score = np.linspace(1.0, 0.0, n)
        weights = np.full(n, 5)
        fill(score, weights, n, sentences=np.zeros(n, dtype=np.int64))

    slope = exponent(run, 20_000, 80_000)
    assert slope < 1.2, f"fill grows as n^{slope:.2f}"


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["};", "| --- |", "```", "x = 1", "Paris.", "Ω"]), st.floats(0, 1)
        ),
        min_size=1,
        max_size=12,
    ),
    st.integers(1, 80),
)
def test_a_span_without_a_letter_or_digit_is_never_selected_under_a_query(
    spans: list[tuple[str, float]], budget: int
) -> None:
    # stop 35's defect: once the best spans were in, a code block's closing "};" got the rest
    n = len(spans)
    texts = [t for t, _ in spans]
    table = SpanTable(doc=np.zeros(n, int), start=np.zeros(n), end=np.zeros(n), texts=texts,
        tokens=np.full(n, 3), vectors=np.zeros((n, 2)), entropy=np.zeros(n), titles=[""],
        doc_texts=[""], doc_vectors=np.zeros((1, 2)))  # fmt: skip
    relevance = np.array([r for _, r in spans])
    sel = select(table, relevance, np.ones(n, bool), budget, join_cost=1, query_free=False,
                 tuning=Tuning())  # fmt: skip
    picked = sel.chosen + ([sel.cut] if sel.cut >= 0 else [])
    assert all(any(ch.isalnum() for ch in texts[i]) for i in picked)
    worded = [i for i in range(n) if any(ch.isalnum() for ch in texts[i])]
    if worded and budget >= 4:  # a worded span fits: the budget is not left empty
        assert picked


def test_a_code_blocks_closing_brace_does_not_take_the_budgets_rest(
    compressor: SemTokenCompressor,
) -> None:
    doc = (
        "## Options\n\nUse `cwd` to set the working directory of the child process.\n\n"
        "```js\nconst defaults = {\n  cwd: undefined,\n  env: process.env,\n};\n```\n\n"
        "If not given, the default is to inherit the current working directory.\n"
    )
    query = "How do I set the working directory?"
    whole = compressor.compress(query, [doc], ratio=1.0).kept_tokens
    seen = 0
    for budget in range(8, whole):
        r = compressor.compress(query, [doc], budget=budget)
        assert r.kept_tokens <= budget
        for s in r.spans:
            seen += 1
            assert any(ch.isalnum() for ch in s.text), (budget, s.text)
    assert seen
