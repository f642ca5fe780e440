"""compress_history on agent histories and provider rules (issue 25): the budget of dropped tool
exchanges goes back to the texts, `developer` is pinned like `system`, a message without
`content` is refused, `overflow="degrade"`, `start_with_user` (real model)."""

from __future__ import annotations

import json
import random

import pytest

from semtoken_rag import FingerprintCache, SemTokenCompressor, compress_history
from semtoken_rag.chat import as_json


@pytest.fixture
def core(compressor: SemTokenCompressor) -> SemTokenCompressor:
    """A compressor sharing the session model, with its own fresh cache."""
    return SemTokenCompressor(
        compressor.config,
        encoder=compressor.encoder,
        token_counter=compressor.token_counter,
        cache=FingerprintCache(),
    )


def fact(k: int) -> str:
    return f"Note that river{k} has code K{k}X{(k * 37) % 100}."


ANSWER = "K3X11"  # river3's code: what "What code has river3?" needs


def agent_history(loops: int) -> list[dict]:
    """The issue's scenario: `loops` agent loops (a user fact, an assistant tool call with
    content None, the tool's result, a short reply), then the question."""
    msgs: list[dict] = [{"role": "system", "content": "You are a helpful assistant."}]
    for k in range(loops):
        call = {"name": "save_fact", "arguments": json.dumps({"fact": fact(k)})}
        msgs += [
            {"role": "user", "content": fact(k)},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [{"id": f"call_{k}", "type": "function", "function": call}],
            },
            {"role": "tool", "tool_call_id": f"call_{k}", "content": json.dumps({"saved": k})},
            {"role": "assistant", "content": f"Noted river{k}."},
        ]
    return [*msgs, {"role": "user", "content": "What code has river3?"}]


def cost(core: SemTokenCompressor, m: dict) -> int:
    """What the budget counts for one returned message (text + tool calls' JSON)."""
    calls = m.get("tool_calls")
    return core.count_tokens(m.get("content") or "") + (
        core.count_tokens(as_json(calls)) if calls else 0
    )


def check_pairs(out: list[dict]) -> None:
    calls = {c["id"] for m in out for c in m.get("tool_calls") or []}
    assert {m["tool_call_id"] for m in out if m["role"] == "tool"} == calls


@pytest.mark.parametrize(
    ("loops", "budget"), [(20, 300), pytest.param(80, 1000, marks=pytest.mark.slow)]
)
def test_agent_history_keeps_the_answer_and_uses_the_budget(
    core: SemTokenCompressor, loops: int, budget: int
) -> None:
    # was: 4 messages, 22 tokens of 300 (1000), the river3 turn dropped: the newest tool
    # exchanges reserved the whole budget for their JSON, lost their results and were dropped,
    # and what they reserved never went back to the texts
    history = agent_history(loops)
    out = compress_history(history, budget=budget, compressor=core)
    used = sum(cost(core, m) for m in out)
    assert used <= budget
    assert used >= budget // 2, (len(out), used)
    assert any(ANSWER in (m["content"] or "") for m in out[:-1])
    assert out[0] == history[0] and out[-2:] == history[-2:]
    check_pairs(out)


def test_tool_exchanges_still_kept_when_the_budget_holds_them(core: SemTokenCompressor) -> None:
    history = agent_history(6)
    total = sum(cost(core, m) for m in history)
    out = compress_history(history, budget=total - 20, compressor=core)
    assert sum(cost(core, m) for m in out) <= total - 20
    assert any(m.get("tool_calls") for m in out)  # exchanges are not given up needlessly
    check_pairs(out)


# --- item 5: OpenAI `developer` messages are pinned like `system` ------------------------------


def test_developer_message_is_pinned_like_system(core: SemTokenCompressor) -> None:
    # was: only role "system" was pinned; the developer message was compressed as an old turn
    history = agent_history(20)
    history[0] = {"role": "developer", "content": "Answer in French. The code word is mango."}
    out = compress_history(history, budget=300, compressor=core)
    assert out[0] == history[0]
    with pytest.raises(ValueError, match="budget"):
        compress_history(history[:1] + history[-1:], budget=5, compressor=core)
    loose = compress_history(history, budget=300, keep_system=False, compressor=core)
    assert sum(cost(core, m) for m in loose) <= 300


# --- item 18: a message without `content` is refused, never silently dropped -----------------


def test_message_keyed_text_is_refused_naming_index_and_key(core: SemTokenCompressor) -> None:
    # was: {"role": "user", "text": ...} read as empty and silently dropped
    history = agent_history(3)
    history[1] = {"role": "user", "text": fact(0)}
    with pytest.raises(ValueError, match=r"messages\[1\] has no 'content' key \(it has 'text'\)"):
        compress_history(history, budget=60, compressor=core)
    # content may be absent where the message carries something else (tool calls, audio)
    call = {"id": "c9", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    ok = [
        {"role": "user", "content": "Play it again."},
        {"role": "assistant", "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "c9", "content": "done"},
        {"role": "assistant", "audio": {"id": "audio_1"}},
        {"role": "user", "content": "Thanks. And now?"},
    ]
    assert compress_history(ok, budget=10_000, compressor=core) == ok


# --- item 6 (core side): overflow="degrade" never raises on a budget below the verbatim turns --

LONG_ANSWER = " ".join(
    f"Day {d}: take the early train to the old town, visit the museum of river {d}, "
    f"and eat at the market stall number {d * 3}."
    for d in range(1, 13)
)


def long_answer_history() -> list[dict]:
    return [
        {"role": "system", "content": "You are a helpful travel agent. Answer briefly."},
        {"role": "user", "content": "Plan my twelve days. I am vegetarian and hate crowds."},
        {"role": "assistant", "content": LONG_ANSWER},
        {"role": "user", "content": "Which museum was on day 4?"},
    ]


def test_degrade_keeps_fewer_turns_verbatim_and_warns(
    core: SemTokenCompressor, caplog: pytest.LogCaptureFixture
) -> None:
    history = long_answer_history()
    assert core.count_tokens(LONG_ANSWER) > 200
    with pytest.raises(ValueError, match="budget=200"):
        compress_history(history, budget=200, compressor=core)
    with caplog.at_level("WARNING", logger="semtoken_rag"):
        out = compress_history(history, budget=200, overflow="degrade", compressor=core)
    assert "kept the last 1 verbatim instead" in caplog.text
    assert sum(cost(core, m) for m in out) <= 200
    assert out[0] == history[0] and out[-1] == history[-1]  # system and question verbatim
    answer = next(m["content"] for m in out if m["role"] == "assistant")
    assert "river 4" in answer and len(answer) < len(LONG_ANSWER)  # compressed, not dropped


@pytest.mark.parametrize("budget", [1, 8, 20])
def test_degrade_compresses_even_the_system_message_and_the_question(
    core: SemTokenCompressor, budget: int
) -> None:
    history = long_answer_history()
    history[-1] = {"role": "user", "content": LONG_ANSWER + " Which museum was on day 4?"}
    out = compress_history(history, budget=budget, overflow="degrade", compressor=core)
    assert sum(cost(core, m) for m in out) <= budget
    for m in out:  # every kept text is a part of its own message
        src = next(h for h in history if h["role"] == m["role"] and m["content"] in h["content"])
        assert src is not None


def test_bad_overflow_and_start_with_user(core: SemTokenCompressor) -> None:
    with pytest.raises(ValueError, match="overflow"):
        compress_history(long_answer_history(), budget=500, overflow="drop", compressor=core)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="start_with_user"):
        compress_history(long_answer_history(), budget=500, start_with_user=1, compressor=core)  # type: ignore[arg-type]


# --- "also decide": start_with_user keeps the first kept turn (after system) a user turn -------


def random_history(rng: random.Random, n: int) -> list[dict]:
    """A user-first history of `n` exchanges: plain answers, tool exchanges, follow-ups."""
    msgs: list[dict] = [{"role": "system", "content": "You are a helpful assistant."}]
    for k in range(n):
        msgs.append({"role": "user", "content": f"{fact(k)} {rng.choice(TOPICS)}"})
        if rng.random() < 0.4:
            call = {"name": "lookup", "arguments": json.dumps({"k": k})}
            msgs += [
                {
                    "role": "assistant",
                    "content": rng.choice([None, "Let me check."]),
                    "tool_calls": [{"id": f"c{k}", "type": "function", "function": call}],
                },
                {"role": "tool", "tool_call_id": f"c{k}", "content": rng.choice(TOPICS)},
            ]
        msgs.append({"role": "assistant", "content": rng.choice(TOPICS)})
    return [*msgs, {"role": "user", "content": "What code has river3?"}]


TOPICS = [
    "The weather in Lyon is mild in spring, with rain in April.",
    "Trains to Kyoto leave every ten minutes from Osaka station.",
    "My sister keeps two cats and a very old parrot.",
    "The museum opens at nine and closes at five on weekdays.",
    "Vegetarian ramen is served near the river market.",
]


def test_start_with_user_over_random_histories(core: SemTokenCompressor) -> None:
    # The issue: 81 of 298 random histories came back opening (after system) with a non-user turn.
    rng = random.Random(25)
    opened_otherwise = 0
    for _ in range(48):  # 3 of these 48 open with a non-user turn under the default selection
        history = random_history(rng, rng.randint(2, 9))
        budget = rng.choice([60, 90, 140, 220])
        plain = compress_history(history, budget=budget, overflow="degrade", compressor=core)
        opened_otherwise += plain[1]["role"] != "user"
        out = compress_history(
            history, budget=budget, start_with_user=True, overflow="degrade", compressor=core
        )
        assert out[1]["role"] == "user", [m["role"] for m in out]
        assert sum(cost(core, m) for m in out) <= budget
        assert out[-1] == history[-1]
        check_pairs(out)
    assert opened_otherwise  # the sweep does exercise the case the option fixes


def test_start_with_user_reaches_back_for_the_verbatim_tail(core: SemTokenCompressor) -> None:
    history = long_answer_history()
    short = [history[0], history[1], {"role": "assistant", "content": "Day 4: river museum."}]
    short.append(history[-1])
    out = compress_history(short, budget=40, keep_last=2, start_with_user=True, compressor=core)
    assert out == short  # the user turn the tail answers is pinned with it
    greeting = [
        history[0],
        {"role": "assistant", "content": "Hello! How can I help?"},
        history[-1],
    ]
    out = compress_history(greeting, budget=100, start_with_user=True, compressor=core)
    assert [m["role"] for m in out] == ["system", "user"]  # an opening greeting is dropped
    assert compress_history(greeting, budget=100, compressor=core) == greeting  # default: kept
