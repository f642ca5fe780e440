"""compress_chat_messages and SemTokenChatMemory with the real model and a real chat engine."""

from __future__ import annotations

from typing import Any

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
    from semtoken_rag.chat import MEDIA_TOKENS, as_json

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


# --- issue 25: agent histories, developer messages, a memory in an engine never fails ---------


def _fact(k: int) -> str:
    return f"Note that river{k} has code K{k}X{(k * 37) % 100}."


def _agent_history(loops: int) -> list[ChatMessage]:
    """N agent loops (a fact, an assistant tool call with content None, the tool result, a short
    reply), then the question: the issue's scenario."""
    msgs = [ChatMessage(role="system", content="You are a helpful assistant.")]
    for k in range(loops):
        call = {
            "id": f"call_{k}",
            "type": "function",
            "function": {"name": "save_fact", "arguments": f'{{"fact": "{_fact(k)}"}}'},
        }
        msgs += [
            ChatMessage(role="user", content=_fact(k)),
            ChatMessage(role="assistant", content=None, additional_kwargs={"tool_calls": [call]}),
            ChatMessage(
                role="tool",
                content=f'{{"saved": {k}}}',
                additional_kwargs={"tool_call_id": f"call_{k}"},
            ),
            ChatMessage(role="assistant", content=f"Noted river{k}."),
        ]
    return [*msgs, ChatMessage(role="user", content="What code has river3?")]


def _check_agent_output(core: SemTokenCompressor, out: list[ChatMessage], budget: int) -> None:
    used = sum(_cost(core, m) for m in out)
    assert budget // 2 <= used <= budget, (len(out), used)
    assert any("K3X11" in (m.content or "") for m in out[:-1])
    calls = set().union(*(_calls(m) for m in out))
    assert {m.additional_kwargs["tool_call_id"] for m in out if m.role.value == "tool"} == calls


@pytest.mark.parametrize(
    ("loops", "budget"), [(20, 300), pytest.param(80, 1000, marks=pytest.mark.slow)]
)
def test_agent_history_keeps_the_answer(
    semtoken_compressor: SemTokenCompressor, loops: int, budget: int
) -> None:
    # was: 4 messages, 22 tokens, the river3 fact dropped, through both entry points
    core = semtoken_compressor
    history = _agent_history(loops)
    _check_agent_output(
        core, compress_chat_messages(history, budget=budget, compressor=core), budget
    )
    memory = SemTokenChatMemory.from_defaults(
        chat_history=history, max_tokens=budget, compressor=core
    )
    _check_agent_output(core, memory.get(), budget)


def test_developer_message_is_pinned(semtoken_compressor: SemTokenCompressor) -> None:
    from llama_index.core.base.llms.types import MessageRole

    # was: only MessageRole.SYSTEM was pinned; the developer message was compressed
    history = _agent_history(20)
    history[0] = ChatMessage(
        role=MessageRole.DEVELOPER, content="Answer in French. The code word is mango."
    )
    out = compress_chat_messages(history, budget=300, compressor=semtoken_compressor)
    assert out[0].model_dump() == history[0].model_dump()
    memory = SemTokenChatMemory.from_defaults(
        chat_history=history, max_tokens=300, compressor=semtoken_compressor
    )
    assert memory.get()[0].model_dump() == history[0].model_dump()


LONG_ANSWER = " ".join(
    f"Day {d}: take the early train to the old town, visit the museum of river {d}, "
    f"and eat at the market stall number {d * 3}."
    for d in range(1, 13)
)


def test_memory_in_an_engine_survives_a_long_answer(
    semtoken_compressor: SemTokenCompressor, caplog: pytest.LogCaptureFixture
) -> None:
    # was: the turn after one long answer raised "ValueError: budget=200 tokens is below the
    # 304 tokens of the turns kept verbatim"; ChatMemoryBuffer handles the same conversation
    from llama_index.core.llms import CompletionResponse, CustomLLM, LLMMetadata
    from llama_index.core.llms.callbacks import llm_completion_callback

    class Scripted(CustomLLM):
        """Answers the first prompt at length, then "ok"; records the prompts."""

        prompts: list[str] = []

        @property
        def metadata(self) -> LLMMetadata:
            return LLMMetadata(context_window=32_000, num_output=16, model_name="scripted")

        @llm_completion_callback()
        def complete(self, prompt: str, formatted: bool = False, **kw: Any) -> CompletionResponse:
            self.prompts.append(prompt)
            return CompletionResponse(text=LONG_ANSWER if len(self.prompts) == 1 else "ok")

        @llm_completion_callback()
        def stream_complete(self, prompt: str, formatted: bool = False, **kw: Any) -> Any:
            raise NotImplementedError

    count = semtoken_compressor.count_tokens
    assert count(LONG_ANSWER) > 200
    llm = Scripted()
    memory = SemTokenChatMemory.from_defaults(max_tokens=200, compressor=semtoken_compressor)
    engine = SimpleChatEngine.from_defaults(llm=llm, memory=memory)
    engine.chat("Plan my twelve days. I am vegetarian and hate crowds.")
    with caplog.at_level("WARNING", logger="semtoken_rag"):
        assert str(engine.chat("Which museum was on day 4?")) == "ok"
    assert "kept the last 1 verbatim instead" in caplog.text
    assert "Which museum was on day 4?" in llm.prompts[-1]
    assert "river 4" in llm.prompts[-1]  # the long answer compressed, not dropped
    handed = memory.get()
    assert sum(count(m.content or "") for m in handed) <= 200
    assert handed[0].role.value == "user"  # start_with_user, as ChatMemoryBuffer does
    strict = SemTokenChatMemory.from_defaults(
        chat_history=memory.get_all()[:-1], max_tokens=200, overflow="raise"
    )
    with pytest.raises(ValueError, match="budget=200"):
        strict.get()
