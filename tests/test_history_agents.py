"""compress_history on agent histories and provider rules (issue 25): the budget of dropped tool
exchanges goes back to the texts, `developer` is pinned like `system`, a message without
`content` is refused, `overflow="degrade"`, `start_with_user` (real model)."""

from __future__ import annotations

import json

import pytest

from semtoken_rag import FingerprintCache, SemTokenCompressor, compress_history
from semtoken_rag.messages import as_json


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


@pytest.mark.parametrize(("loops", "budget"), [(20, 300), (80, 1000)])
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
