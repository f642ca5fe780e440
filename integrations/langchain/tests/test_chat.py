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
