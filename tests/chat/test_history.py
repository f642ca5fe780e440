"""compress_history: order, roles, budget, verbatim turns, no mutation, cache reuse (real model)."""

from __future__ import annotations

import copy

import pytest

from semtoken_rag import FingerprintCache, SemTokenCompressor, compress_history
from semtoken_rag.chat import compress_turns, last_user_text

HISTORY = [
    {"role": "system", "content": "You are a helpful travel agent. Answer briefly."},
    {
        "role": "user",
        "content": "I want to visit Kyoto in April. I love temples and quiet gardens. "
        "My sister lives in Osaka.",
        "name": "ada",
    },
    {
        "role": "assistant",
        "content": "Kyoto in April has cherry blossoms. Book hotels early because it is peak "
        "season. Fushimi Inari shrine is open all night.",
    },
    {
        "role": "user",
        "content": "My budget is 2000 dollars. I hate flying. I am vegetarian.",
    },
    {
        "role": "assistant",
        "content": "Noted: 2000 dollars, trains only, vegetarian food. Shojin ryori is "
        "Buddhist temple cuisine and fully vegetarian.",
    },
    {"role": "user", "content": "What food should I try there?"},
]


@pytest.fixture
def core(compressor: SemTokenCompressor) -> SemTokenCompressor:
    """A compressor sharing the session model, with its own fresh cache (hits are countable)."""
    return SemTokenCompressor(
        compressor.config,
        encoder=compressor.encoder,
        token_counter=compressor.token_counter,
        cache=FingerprintCache(),
    )


def _tokens(core: SemTokenCompressor, messages: list[dict]) -> int:
    return sum(core.count_tokens(m["content"]) for m in messages)


@pytest.mark.parametrize("budget", [50, 60, 80, 1000])
def test_order_roles_budget_and_verbatim_turns(core: SemTokenCompressor, budget: int) -> None:
    out = compress_history(HISTORY, budget=budget, compressor=core)
    assert _tokens(core, out) <= budget
    assert out[0] == HISTORY[0]  # system verbatim
    assert out[-2:] == HISTORY[-2:]  # last two verbatim
    # order kept, each kept text comes from the same turn (role and name stay with it)
    positions = []
    for m in out:
        i = next(
            i
            for i, h in enumerate(HISTORY)
            if h["role"] == m["role"]
            and h.get("name") == m.get("name")
            and m["content"] in h["content"]
        )
        positions.append(i)
    assert positions == sorted(positions) and len(set(positions)) == len(positions)
    if budget == 1000:
        assert out == HISTORY  # everything fits: nothing changes


def test_query_defaults_to_last_user_message(core: SemTokenCompressor) -> None:
    assert last_user_text([(m["role"], m["content"]) for m in HISTORY]) == HISTORY[-1]["content"]
    out = compress_history(HISTORY, budget=60, compressor=core)
    kept_older = " ".join(m["content"] for m in out[1:-2])
    assert "vegetarian" in kept_older  # the turn about food survives for a food question


def test_input_is_not_mutated(core: SemTokenCompressor) -> None:
    before = copy.deepcopy(HISTORY)
    out = compress_history(HISTORY, budget=60, compressor=core)
    assert before == HISTORY
    out[0]["content"] = "changed"
    assert before == HISTORY


def test_keep_last_and_keep_system(core: SemTokenCompressor) -> None:
    out = compress_history(HISTORY, budget=120, keep_last=4, compressor=core)
    assert out[-4:] == HISTORY[-4:]
    out = compress_history(HISTORY, budget=30, keep_last=1, keep_system=False, compressor=core)
    assert out[-1] == HISTORY[-1]
    assert _tokens(core, out) <= 30
    out = compress_history(HISTORY, budget=200, keep_last=0, compressor=core)
    assert out == HISTORY


def test_verbatim_part_over_budget_raises(core: SemTokenCompressor) -> None:
    with pytest.raises(ValueError, match="budget"):
        compress_history(HISTORY, budget=10, compressor=core)


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"budget": None}, ValueError),
        ({"budget": 0}, ValueError),
        ({"budget": 1.5}, TypeError),
        ({"budget": 50, "keep_last": -1}, ValueError),
        ({"budget": 50, "keep_system": "yes"}, TypeError),
    ],
)
def test_bad_arguments(core: SemTokenCompressor, kwargs: dict, error: type) -> None:
    with pytest.raises(error):
        compress_history(HISTORY, compressor=core, **kwargs)


@pytest.mark.parametrize(
    "messages",
    [
        "hello",
        [{"role": "user", "content": "hi"}, "x"],
        [{"role": 1, "content": "x"}],
        [{"role": "user", "content": 3}],
    ],
)
def test_bad_messages(core: SemTokenCompressor, messages: object) -> None:
    with pytest.raises(TypeError, match="messages"):
        compress_history(messages, budget=50, compressor=core)  # type: ignore[arg-type]


def test_empty_and_short_histories(core: SemTokenCompressor) -> None:
    assert compress_history([], budget=10, compressor=core) == []
    short = [{"role": "user", "content": "Hi"}]
    assert compress_history(short, budget=10, compressor=core) == short


def test_next_turn_reuses_cached_fingerprints(core: SemTokenCompressor) -> None:
    """Autoregressive merging: on the next call only the turn that left the verbatim tail is new."""
    compress_history(HISTORY[:-1], budget=70, compressor=core)  # older turns: 1, 2
    stats = core.cache.stats()
    assert (stats["hits"], stats["misses"]) == (0, 2)
    compress_history(HISTORY, budget=70, compressor=core)  # older turns: 1, 2, 3
    stats = core.cache.stats()
    assert (stats["hits"], stats["misses"]) == (2, 3)


def test_compress_turns_returns_none_for_dropped(core: SemTokenCompressor) -> None:
    turns = [(m["role"], m["content"]) for m in HISTORY]
    out = compress_turns(turns, "food", 60, compressor=core)
    assert len(out) == len(turns)
    assert out[0] == turns[0][1] and out[-1] == turns[-1][1]
    assert any(t is None for t in out)


# --- issue 16, item 2: messages without compressible text; tool calls and their results ---------


def _tool_history() -> list[dict]:
    """A history with tool calls (empty and None content), image-only and mixed messages; "pos"
    marks each message's place (extra keys are kept)."""
    weather = "get_weather"
    msgs: list[dict] = [
        {"role": "system", "content": "You are a travel assistant with tools."},
        {"role": "user", "content": "I fly to Kyoto on Monday. I am vegetarian. I hate crowds."},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "c1",
                    "type": "function",
                    "function": {"name": weather, "arguments": '{"city": "Kyoto"}'},
                },
                {
                    "id": "c2",
                    "type": "function",
                    "function": {"name": "find_hotels", "arguments": '{"city": "Kyoto"}'},
                },
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "Kyoto: rain on Monday, 14 C."},
        {
            "role": "tool",
            "tool_call_id": "c2",
            "content": "Hotel Sakura near Gion, 120 dollars a night. Ryokan Hoshi, quiet, 200.",
        },
        {
            "role": "user",
            "content": [{"type": "image_url", "image_url": {"url": "https://x/y.png"}}],
        },
        {"role": "assistant", "content": "That photo shows the Fushimi Inari gates at dawn."},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "And this temple? It looked calm and green."},
                {"type": "image_url", "image_url": {"url": "https://x/z.png"}},
            ],
        },
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {
                    "id": "c3",
                    "type": "function",
                    "function": {"name": "identify", "arguments": '{"image": 2}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "c3", "content": "Ryoan-ji, the rock garden temple."},
        {"role": "assistant", "content": "It is Ryoan-ji, known for its rock garden."},
        {"role": "user", "content": "Which hotel fits me best?"},
    ]
    return [{**m, "pos": k} for k, m in enumerate(msgs)]


def _cost(core: SemTokenCompressor, m: dict) -> int:
    """What the budget counts for one returned message (the documented rule, recomputed here)."""
    from semtoken_rag.chat import MEDIA_TOKENS, as_json

    content, n = m.get("content"), 0
    if isinstance(content, list):
        texts = [p["text"] for p in content if p.get("type") == "text"]
        n += sum(MEDIA_TOKENS for p in content if p.get("type") == "image_url")
        content = "\n".join(texts)
    n += core.count_tokens(content or "")
    return n + (core.count_tokens(as_json(m["tool_calls"])) if m.get("tool_calls") else 0)


def _check_pairs(history: list[dict], out: list[dict]) -> None:
    kept = [m["pos"] for m in out]
    assert kept == sorted(set(kept))  # order kept, nothing twice
    calls = {c["id"] for m in out for c in m.get("tool_calls") or []}
    answered = {m["tool_call_id"] for m in out if m.get("tool_call_id")}
    assert answered == calls  # no orphaned result, no call without its results
    for m in history:  # every result of a kept call is kept
        if m.get("tool_call_id") in calls:
            assert m["pos"] in kept


def test_tool_calls_and_images_are_kept_when_everything_fits(core: SemTokenCompressor) -> None:
    # was: the tool-call message (content None or "") and the image-only message were dropped,
    # the results stayed orphaned; a content list raised TypeError
    history = _tool_history()
    total = sum(_cost(core, m) for m in history)
    out = compress_history(history, budget=100 * total, compressor=core)
    assert out == history


def test_tight_budgets_keep_tool_exchanges_whole_and_within_budget(
    core: SemTokenCompressor,
) -> None:
    history = _tool_history()
    total = sum(_cost(core, m) for m in history)
    low = sum(_cost(core, m) for m in history[:1] + history[-2:])  # pinned: system, last two
    seen = set()
    for budget in sorted({low, low + 15, low + 40, low + 80, total // 2, total - 5, total}):
        out = compress_history(history, budget=budget, compressor=core)
        assert sum(_cost(core, m) for m in out) <= budget, budget
        _check_pairs(history, out)
        assert out[0] == history[0] and out[-2:] == history[-2:]
        for m in out:  # non-text content is never changed; texts come from their own message
            src = history[m["pos"]]
            assert m.get("tool_calls") == src.get("tool_calls")
            if isinstance(src["content"], list):
                assert [p for p in m["content"] if p["type"] != "text"] == [
                    p for p in src["content"] if p["type"] != "text"
                ]
        seen.add(tuple(m["pos"] for m in out))
    assert len(seen) > 2  # the sweep did exercise different cuts


def test_a_pinned_result_pins_its_call(core: SemTokenCompressor) -> None:
    history = _tool_history()
    out = compress_history(history, budget=10_000, keep_last=3, compressor=core)
    _check_pairs(history, out)
    out = compress_history(history[:10], budget=400, keep_last=1, compressor=core)
    _check_pairs(history[:10], out)
    assert [m["pos"] for m in out][-2:] == [8, 9]  # the last result pulled in its call
