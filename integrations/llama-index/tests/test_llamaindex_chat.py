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
