"""compress_messages: LangChain message histories, with the real model."""

from __future__ import annotations

import pytest
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from semtoken_rag import SemTokenCompressor

from langchain_semtoken import compress_messages


def _history() -> list[BaseMessage]:
    return [
        SystemMessage("You are a helpful travel agent. Answer briefly.", id="s"),
        HumanMessage(
            "I want to visit Kyoto in April. I love temples and quiet gardens. "
            "My sister lives in Osaka.",
            id="u1",
            name="ada",
        ),
        AIMessage(
            "Kyoto in April has cherry blossoms. Book hotels early because it is peak season. "
            "Fushimi Inari shrine is open all night.",
            id="a1",
            additional_kwargs={"model": "x"},
        ),
        HumanMessage("My budget is 2000 dollars. I hate flying. I am vegetarian.", id="u2"),
        AIMessage(
            "Noted: 2000 dollars, trains only, vegetarian food. Shojin ryori is Buddhist temple "
            "cuisine and fully vegetarian.",
            id="a2",
        ),
        HumanMessage("What food should I try there?", id="u3"),
    ]


@pytest.mark.parametrize("budget", [50, 70, 1000])
def test_classes_ids_order_and_budget(core: SemTokenCompressor, budget: int) -> None:
    history = _history()
    before = [m.model_dump() for m in history]
    out = compress_messages(history, budget=budget, compressor=core)
    assert [m.model_dump() for m in history] == before  # input untouched
    assert sum(core.count_tokens(m.text) for m in out) <= budget
    ids = [m.id for m in out]
    order = [m.id for m in history]
    assert ids == [i for i in order if i in ids]  # order kept
    assert ids[0] == "s" and ids[-2:] == ["a2", "u3"]
    by_id = {m.id: m for m in history}
    for m in out:
        src = by_id[m.id]
        assert type(m) is type(src) and m.name == src.name
        assert m.additional_kwargs == src.additional_kwargs
        assert m.text in src.text
        assert m is not src
    if budget == 1000:
        assert [m.model_dump() for m in out] == before


def test_copies_are_independent(core: SemTokenCompressor) -> None:
    history = _history()
    out = compress_messages(history, budget=60, compressor=core)
    for m in out:
        m.additional_kwargs["touched"] = True
    assert all("touched" not in m.additional_kwargs for m in history)


def test_errors(core: SemTokenCompressor) -> None:
    with pytest.raises(ValueError, match="budget"):
        compress_messages(_history(), budget=10, compressor=core)
    with pytest.raises(ValueError, match="budget"):
        compress_messages(_history(), compressor=core)
    with pytest.raises(TypeError, match=r"messages\[1\]"):
        compress_messages([HumanMessage("a"), "b"], budget=10, compressor=core)  # type: ignore[list-item]


# --- issue 16, item 2: tool calls, images, and call/result pairs -------------------------------


def _tool_history() -> list[BaseMessage]:
    from langchain_core.messages import ToolMessage

    image = {"type": "image_url", "image_url": {"url": "https://example.com/gate.png"}}
    return [
        SystemMessage("You are a travel assistant with tools.", id="s"),
        HumanMessage("I fly to Kyoto on Monday. I am vegetarian. I hate crowds.", id="u1"),
        AIMessage(
            "",
            id="a1",
            tool_calls=[
                {"name": "get_weather", "args": {"city": "Kyoto"}, "id": "c1"},
                {"name": "find_hotels", "args": {"city": "Kyoto"}, "id": "c2"},
            ],
        ),
        ToolMessage("Kyoto: rain on Monday, 14 C.", tool_call_id="c1", id="t1"),
        ToolMessage(
            "Hotel Sakura near Gion, 120 dollars a night. Ryokan Hoshi, quiet, 200.",
            tool_call_id="c2",
            id="t2",
        ),
        HumanMessage(content=[image], id="u2"),  # image only
        AIMessage("That photo shows the Fushimi Inari gates at dawn.", id="a2"),
        HumanMessage(
            content=[{"type": "text", "text": "And this temple? It looked calm and green."}, image],
            id="u3",
        ),
        AIMessage(
            "Let me check.",
            id="a3",
            tool_calls=[{"name": "identify", "args": {"image": 2}, "id": "c3"}],
        ),
        ToolMessage("Ryoan-ji, the rock garden temple.", tool_call_id="c3", id="t3"),
        AIMessage("It is Ryoan-ji, known for its rock garden.", id="a4"),
        HumanMessage("Which hotel fits me best?", id="u4"),
    ]


def _cost(core: SemTokenCompressor, m: BaseMessage) -> int:
    from semtoken_rag.chat import MEDIA_TOKENS, as_json

    n = core.count_tokens(m.text)
    if isinstance(m.content, list):
        n += MEDIA_TOKENS * sum(1 for b in m.content if b["type"] == "image_url")
    calls = getattr(m, "tool_calls", None)
    return n + (core.count_tokens(as_json(calls)) if calls else 0)


def _check_pairs(history: list[BaseMessage], out: list[BaseMessage]) -> None:
    ids = [m.id for m in out]
    assert ids == [m.id for m in history if m.id in ids]
    calls = {c["id"] for m in out for c in getattr(m, "tool_calls", None) or []}
    answered = {m.tool_call_id for m in out if m.type == "tool"}
    assert answered == calls
    assert all(m.id in ids for m in history if m.type == "tool" and m.tool_call_id in calls)


def test_tool_calls_and_images_kept_when_everything_fits(core: SemTokenCompressor) -> None:
    # was: the AIMessage with tool_calls and empty content and the image-only HumanMessage were
    # dropped at any budget, leaving the ToolMessages orphaned
    history = _tool_history()
    total = sum(_cost(core, m) for m in history)
    out = compress_messages(history, budget=100 * total, compressor=core)
    assert [m.model_dump() for m in out] == [m.model_dump() for m in history]


def test_tight_budgets_keep_call_and_results_together(core: SemTokenCompressor) -> None:
    history = _tool_history()
    before = [m.model_dump() for m in history]
    total = sum(_cost(core, m) for m in history)
    low = sum(_cost(core, m) for m in history[:1] + history[-2:])
    for budget in sorted({low, low + 20, low + 60, total // 2, total - 5}):
        out = compress_messages(history, budget=budget, compressor=core)
        assert sum(_cost(core, m) for m in out) <= budget
        _check_pairs(history, out)
        by_id = {m.id: m for m in history}
        for m in out:
            src = by_id[m.id]
            assert type(m) is type(src)
            assert getattr(m, "tool_calls", None) == getattr(src, "tool_calls", None)
            if isinstance(src.content, list):  # the image block survives compression
                assert [b for b in m.content if b["type"] != "text"] == [
                    b for b in src.content if b["type"] != "text"
                ]
    assert [m.model_dump() for m in history] == before


# --- issue 25: agent histories, developer messages, text blocks, provider rules ----------------


def _fact(k: int) -> str:
    return f"Note that river{k} has code K{k}X{(k * 37) % 100}."


def _agent_history(loops: int) -> list[BaseMessage]:
    """N agent loops (a fact, an AIMessage with tool_calls and empty content, the ToolMessage,
    a short reply), then the question: the issue's scenario."""
    from langchain_core.messages import ToolMessage

    msgs: list[BaseMessage] = [SystemMessage("You are a helpful assistant.")]
    for k in range(loops):
        call = {"name": "save_fact", "args": {"fact": _fact(k)}, "id": f"call_{k}"}
        msgs += [
            HumanMessage(_fact(k)),
            AIMessage("", tool_calls=[call]),
            ToolMessage(f'{{"saved": {k}}}', tool_call_id=f"call_{k}"),
            AIMessage(f"Noted river{k}."),
        ]
    return [*msgs, HumanMessage("What code has river3?")]


@pytest.mark.parametrize(
    ("loops", "budget"), [(20, 300), pytest.param(80, 1000, marks=pytest.mark.slow)]
)
def test_agent_history_keeps_the_answer(core: SemTokenCompressor, loops: int, budget: int) -> None:
    # was: 4 messages, 22 tokens, the river3 fact dropped (tool exchanges reserved the budget,
    # were dropped, and never gave it back)
    history = _agent_history(loops)
    out = compress_messages(history, budget=budget, compressor=core)
    used = sum(_cost(core, m) for m in out)
    assert budget // 2 <= used <= budget, (len(out), used)
    assert any("K3X11" in m.text for m in out[:-1])
    calls = {c["id"] for m in out for c in getattr(m, "tool_calls", None) or []}
    assert {m.tool_call_id for m in out if m.type == "tool"} == calls


def test_developer_message_is_pinned(core: SemTokenCompressor) -> None:
    from langchain_core.messages import ChatMessage

    # was: a ChatMessage with role "developer" was compressed like an old turn
    history = _agent_history(20)
    history[0] = ChatMessage(role="developer", content="Answer in French. The code word is mango.")
    out = compress_messages(history, budget=300, compressor=core)
    assert out[0].model_dump() == history[0].model_dump()


def test_text_blocks_are_joined_with_a_line_break(core: SemTokenCompressor) -> None:
    # was: "The launch code is alpha" + "bravo charlie ..." compressed to one glued sentence,
    # "The launch code is alphabravo charlie is the backup team."
    blocks = [
        {"type": "text", "text": "The launch code is alpha"},
        {
            "type": "text",
            "text": "bravo charlie is the backup team. The team meets on Mondays in the old "
            "hangar near the river, after lunch.",
        },
    ]
    history = [
        HumanMessage(content=blocks, id="u1"),
        AIMessage("Understood, I will remember both.", id="a1"),
        HumanMessage(
            "I like trains and quiet gardens in the old town. My sister keeps two cats.", id="u2"
        ),
        AIMessage("Noted: trains and gardens.", id="a2"),
        HumanMessage("What is the launch code, and who is the backup team?", id="u3"),
    ]
    out = compress_messages(history, budget=40, compressor=core)
    kept = next(m for m in out if m.id == "u1")
    # the two blocks, each whole and joined by a blank line (the budget's rest may add a piece
    # of the next sentence about the team)
    assert kept.content.startswith("The launch code is alpha\n\nbravo charlie is the backup team.")
    assert "alphabravo" not in kept.content
    whole = compress_messages(history, budget=1000, compressor=core)
    assert whole[0].content == blocks  # kept whole: the blocks come back as they were


def test_start_with_user_and_degrade(core: SemTokenCompressor) -> None:
    history = _history()
    history.insert(1, AIMessage("Hello! Where would you like to travel?", id="a0"))
    out = compress_messages(history, budget=1000, start_with_user=True, compressor=core)
    assert [m.id for m in out][:2] == ["s", "u1"]  # the opening greeting is dropped
    with pytest.raises(ValueError, match="budget"):
        compress_messages(history, budget=12, compressor=core)
    out = compress_messages(history, budget=12, overflow="degrade", compressor=core)
    assert sum(core.count_tokens(m.text) for m in out) <= 12
