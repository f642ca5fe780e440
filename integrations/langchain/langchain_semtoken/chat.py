"""Chat memory for LangChain: fit a ``BaseMessage`` history into a token budget."""

from __future__ import annotations

from collections.abc import Sequence

from langchain_core.messages import BaseMessage
from semtoken_rag import SemTokenCompressor
from semtoken_rag.history import Turn, compress_chat

_ROLES = {"system": "system", "human": "user", "ai": "assistant", "tool": "tool"}


def compress_messages(
    messages: Sequence[BaseMessage],
    query: str | None = None,
    budget: int | None = None,
    *,
    keep_last: int = 2,
    keep_system: bool = True,
    compressor: SemTokenCompressor | None = None,
) -> list[BaseMessage]:
    """Fit a LangChain chat history into ``budget`` tokens for the next question.

    System messages and the last ``keep_last`` messages stay verbatim; each older message is
    compressed as its own document (so its kept text stays with its speaker, in order) and dropped
    when nothing of it is kept. Returned messages are new objects of the same classes with the
    same ``id``, ``name``, ``additional_kwargs`` (and ``tool_calls``); only ``content`` of the
    compressed ones changes (to a str). The input messages are never mutated.

    The budget counts the tokens of the returned message texts (``message.text``) by the core's
    counter, not role labels or chat-format overhead. Caveat: an older ``AIMessage`` with tool
    calls, or a ``ToolMessage``, can be dropped like any other turn; keep tool exchanges inside
    ``keep_last`` when your model requires call/result pairs.

    Args:
        messages: The history, oldest first, usually ending with the new ``HumanMessage``.
        query: What the next answer needs; default: the text of the last ``HumanMessage``.
        budget: Most tokens of all returned message texts together. Required.
        keep_last: Non-system messages at the end kept verbatim.
        keep_system: Keep ``SystemMessage`` verbatim; ``False`` compresses it like other turns.
        compressor: A shared :class:`semtoken_rag.SemTokenCompressor`; its fingerprint cache
            makes the turns already seen free on the next call. Default: one shared instance.

    Returns:
        The messages to send, in the original order.

    Raises:
        ValueError: ``budget`` missing or not positive, or the verbatim messages exceed it.
        TypeError: an entry is not a ``BaseMessage``.

    Example:
        >>> from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
        >>> from langchain_semtoken import compress_messages
        >>> history = [SystemMessage("You are terse."),
        ...            HumanMessage("I live in Lyon. I have two cats."),
        ...            AIMessage("Nice! Lyon is known for its food."),
        ...            HumanMessage("Where do I live?")]
        >>> out = compress_messages(history, budget=30)
        >>> [type(m).__name__ for m in out]  # doctest: +SKIP
        ['SystemMessage', 'HumanMessage', 'AIMessage', 'HumanMessage']
    """
    return compress_chat(
        messages,
        _read,
        _write,
        query,
        budget,
        keep_last=keep_last,
        keep_system=keep_system,
        compressor=compressor,
    )


def _read(i: int, m: BaseMessage) -> Turn:
    if not isinstance(m, BaseMessage):
        raise TypeError(f"messages[{i}] must be a BaseMessage, got {type(m).__name__}")
    return Turn(_ROLES.get(m.type, getattr(m, "role", None) or m.type), m.text, m.name)


def _write(m: BaseMessage, turn: Turn, kept: str) -> BaseMessage:
    return m.model_copy(update={} if kept == turn.text else {"content": kept}, deep=True)
