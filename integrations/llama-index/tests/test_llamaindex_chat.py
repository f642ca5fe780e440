"""compress_chat_messages and SemTokenChatMemory with the real model and a real chat engine."""

from __future__ import annotations

import pytest
from llama_index.core.base.llms.types import ImageBlock, TextBlock
from llama_index.core.chat_engine import SimpleChatEngine
from llama_index.core.llms import ChatMessage
from llama_index.postprocessor.semtoken import SemTokenChatMemory, compress_chat_messages

from semtoken_rag import SemTokenCompressor


def _history() -> list[ChatMessage]:
    return [
        ChatMessage(role="system", content="You are a helpful travel agent. Answer briefly."),
        ChatMessage(
            role="user",
            content="I want to visit Kyoto in April. I love temples and quiet gardens. "
            "My sister lives in Osaka.",
        ),
        ChatMessage(
            role="assistant",
            content="Kyoto in April has cherry blossoms. Book hotels early because it is peak "
            "season. Fushimi Inari shrine is open all night.",
            additional_kwargs={"turn": 2},
        ),
        ChatMessage(
            role="user", content="My budget is 2000 dollars. I hate flying. I am vegetarian."
        ),
        ChatMessage(
            role="assistant",
            content="Noted: 2000 dollars, trains only, vegetarian food. Shojin ryori is Buddhist "
            "temple cuisine and fully vegetarian.",
        ),
        ChatMessage(role="user", content="What food should I try there?"),
    ]


@pytest.mark.parametrize("budget", [50, 70, 1000])
def test_roles_order_budget_no_mutation(
    semtoken_compressor: SemTokenCompressor, budget: int
) -> None:
    history = _history()
    before = [m.model_dump() for m in history]
    out = compress_chat_messages(history, budget=budget, compressor=semtoken_compressor)
    assert [m.model_dump() for m in history] == before
    assert sum(semtoken_compressor.count_tokens(m.content or "") for m in out) <= budget
    assert out[0].model_dump() == before[0] and [m.model_dump() for m in out[-2:]] == before[-2:]
    j = 0
    for m in out:  # each kept text is from a later source message of the same role
        while not (history[j].role == m.role and (m.content or "") in (history[j].content or "")):
            j += 1
        assert m.additional_kwargs == history[j].additional_kwargs
        j += 1
    if budget == 1000:
        assert [m.model_dump() for m in out] == before


def test_image_blocks_survive_compression(semtoken_compressor: SemTokenCompressor) -> None:
    history = _history()
    image = ImageBlock(url="https://example.com/kyoto.png")
    history[1] = ChatMessage(role="user", blocks=[TextBlock(text=history[1].content), image])
    out = compress_chat_messages(history, budget=1000, compressor=semtoken_compressor)
    assert any(isinstance(b, ImageBlock) for b in out[1].blocks)


def test_errors(semtoken_compressor: SemTokenCompressor) -> None:
    with pytest.raises(ValueError, match="budget"):
        compress_chat_messages(_history(), budget=10, compressor=semtoken_compressor)
    with pytest.raises(TypeError, match=r"messages\[0\]"):
        compress_chat_messages(["x"], budget=10, compressor=semtoken_compressor)  # type: ignore[list-item]


def test_memory_in_a_chat_engine(semtoken_compressor: SemTokenCompressor, recording_llm) -> None:
    memory = SemTokenChatMemory.from_defaults(
        chat_history=_history()[:-1], max_tokens=80, compressor=semtoken_compressor
    )
    engine = SimpleChatEngine.from_defaults(llm=recording_llm, memory=memory)
    response = engine.chat("What food should I try there?")
    assert str(response) == "ok"
    prompt = recording_llm.prompts[-1]
    assert "What food should I try there?" in prompt
    full = memory.get_all()[:-1]  # what the LLM would have seen uncompressed ("ok" came after)
    assert not all((m.content or "") in prompt for m in full)  # older turns shrank
    count = semtoken_compressor.count_tokens
    assert count(prompt) < sum(count(m.content or "") for m in full)
    assert len(memory.get_all()) == 7  # the inner memory keeps everything, uncompressed
    assert memory.get_all()[2].content == _history()[2].content
    compressed = memory.get()
    assert sum(semtoken_compressor.count_tokens(m.content or "") for m in compressed) <= 80
    memory.reset()
    assert memory.get() == []


# --- issue 16, item 2: ImageBlock-only messages, tool calls (additional_kwargs and blocks) ------


def _tool_history() -> list[ChatMessage]:
    from llama_index.core.base.llms.types import ToolCallBlock

    image = ImageBlock(url="https://example.com/gate.png")
    calls = [
        {
            "id": "c1",
            "type": "function",
            "function": {"name": "get_weather", "arguments": '{"city": "Kyoto"}'},
        },
        {
            "id": "c2",
            "type": "function",
            "function": {"name": "find_hotels", "arguments": '{"city": "Kyoto"}'},
        },
    ]
    msgs = [
        ChatMessage(role="system", content="You are a travel assistant with tools."),
        ChatMessage(
            role="user", content="I fly to Kyoto on Monday. I am vegetarian. I hate crowds."
        ),
        ChatMessage(role="assistant", content="", additional_kwargs={"tool_calls": calls}),
        ChatMessage(
            role="tool",
            content="Kyoto: rain on Monday, 14 C.",
            additional_kwargs={"tool_call_id": "c1"},
        ),
        ChatMessage(
            role="tool",
            content="Hotel Sakura near Gion, 120 dollars a night. Ryokan Hoshi, quiet, 200.",
            additional_kwargs={"tool_call_id": "c2"},
        ),
        ChatMessage(role="user", blocks=[image]),  # image only
        ChatMessage(role="assistant", content="That photo shows the Fushimi Inari gates at dawn."),
        ChatMessage(
            role="user",
            blocks=[TextBlock(text="And this temple? It looked calm and green."), image],
        ),
        ChatMessage(
            role="assistant",
            blocks=[ToolCallBlock(tool_call_id="c3", tool_name="identify", tool_kwargs={"i": 2})],
        ),
        ChatMessage(
            role="tool",
            content="Ryoan-ji, the rock garden temple.",
            additional_kwargs={"tool_call_id": "c3"},
        ),
        ChatMessage(role="assistant", content="It is Ryoan-ji, known for its rock garden."),
        ChatMessage(role="user", content="Which hotel fits me best?"),
    ]
    for k, m in enumerate(msgs):
        m.additional_kwargs["pos"] = k
    return msgs


def _calls(m: ChatMessage) -> set[str]:
    from llama_index.core.base.llms.types import ToolCallBlock

    ids = {c["id"] for c in m.additional_kwargs.get("tool_calls") or []}
    return ids | {b.tool_call_id for b in m.blocks if isinstance(b, ToolCallBlock)}


def _cost(core: SemTokenCompressor, m: ChatMessage) -> int:
    from semtoken_rag.messages import MEDIA_TOKENS, as_json

    blocks = [b.model_dump(mode="json") for b in m.blocks if type(b).__name__ == "ToolCallBlock"]
    extra = (m.additional_kwargs.get("tool_calls") or []) + blocks
    n = core.count_tokens(m.content or "") + (core.count_tokens(as_json(extra)) if extra else 0)
    return n + MEDIA_TOKENS * sum(isinstance(b, ImageBlock) for b in m.blocks)


def _check_pairs(history: list[ChatMessage], out: list[ChatMessage]) -> None:
    kept = [m.additional_kwargs["pos"] for m in out]
    assert kept == sorted(set(kept))
    calls = set().union(*(_calls(m) for m in out))
    answered = {m.additional_kwargs["tool_call_id"] for m in out if m.role.value == "tool"}
    assert answered == calls
    for m in history:
        if m.additional_kwargs.get("tool_call_id") in calls:
            assert m.additional_kwargs["pos"] in kept


def test_tool_calls_and_images_kept_when_everything_fits(
    semtoken_compressor: SemTokenCompressor,
) -> None:
    # was: the ImageBlock-only message and the tool-call messages (additional_kwargs, blocks)
    # were dropped at any budget, leaving the tool results orphaned
    history = _tool_history()
    total = sum(_cost(semtoken_compressor, m) for m in history)
    out = compress_chat_messages(history, budget=100 * total, compressor=semtoken_compressor)
    assert [m.model_dump() for m in out] == [m.model_dump() for m in history]


def test_tight_budgets_keep_call_and_results_together(
    semtoken_compressor: SemTokenCompressor,
) -> None:
    core = semtoken_compressor
    history = _tool_history()
    before = [m.model_dump() for m in history]
    total = sum(_cost(core, m) for m in history)
    low = sum(_cost(core, m) for m in history[:1] + history[-2:])
    for budget in sorted({low, low + 20, low + 60, total // 2, total - 5}):
        out = compress_chat_messages(history, budget=budget, compressor=core)
        assert sum(_cost(core, m) for m in out) <= budget
        _check_pairs(history, out)
        for m in out:
            src = history[m.additional_kwargs["pos"]]
            assert _calls(m) == _calls(src)
            images = [b for b in src.blocks if isinstance(b, ImageBlock)]
            assert [b for b in m.blocks if isinstance(b, ImageBlock)] == images
    assert [m.model_dump() for m in history] == before
