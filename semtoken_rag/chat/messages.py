"""What a chat message holds, as the chat compressor sees it: text that may be compressed, and
non-text content that is never compressed but costs tokens (tool calls, images, audio, files).

:class:`Turn` is what every adapter's reader returns; :func:`units` ties each tool call to the
results answering it; :func:`read_dict` / :func:`write_dict` map OpenAI-style message dicts
(``content`` a str, ``None`` or a list of parts; ``tool_calls``; ``tool_call_id``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

MEDIA_TOKENS = 765
"""Tokens one image, audio or file block is assumed to cost when its message is kept: what a
1024 x 1024 image costs at OpenAI's high detail (85 + 4 tiles x 170). An estimate, stated so the
budget can hold; a model that charges more needs a smaller budget."""

MEDIA_TYPES = frozenset(
    {"image", "image_url", "input_image", "audio", "input_audio", "file", "input_file", "video"}
)
"""``type`` of the content-list blocks (OpenAI and LangChain formats) costed as media."""

SYSTEM_ROLES = frozenset({"system", "developer"})
"""Roles that ``keep_system`` keeps verbatim: OpenAI's ``developer`` messages (which replace
``system`` for its reasoning models) carry the instructions just as ``system`` ones do."""


@dataclass(frozen=True)
class Turn:
    """One message as the chat compressor sees it.

    Attributes:
        role: ``"system"``, ``"developer"``, ``"user"``, ``"assistant"``, ``"tool"``...
        text: The message's text (what may be compressed).
        name: The speaker's name, when the message has one (the turn's title).
        extra: Non-text content that is never compressed but costs tokens when the message is
            kept, as text: the tool calls' JSON, say ("" for none).
        media: Image, audio or file blocks (each costs :data:`MEDIA_TOKENS`).
        tool_calls: Ids of the tool calls the message makes ("" for a call without an id).
        tool_call_id: Id of the tool call the message answers (a tool result), if any.
    """

    role: str
    text: str
    name: str | None = None
    extra: str = ""
    media: int = 0
    tool_calls: tuple[str, ...] = ()
    tool_call_id: str | None = None


def units(turns: Sequence[Turn]) -> list[int]:
    """The unit of each turn: a tool call and the results answering it share their caller's
    index; every other turn is its own unit. A result is matched by ``tool_call_id``; one without
    an id answers the closest message making calls before it (only results in between).

    Example:
        >>> units([Turn("user", "Weather?"), Turn("assistant", "", tool_calls=("c1",)),
        ...        Turn("tool", "Sunny.", tool_call_id="c1"), Turn("assistant", "Sunny.")])
        [0, 1, 1, 3]
    """
    unit = list(range(len(turns)))
    owner: dict[str, int] = {}
    caller: int | None = None  # the last message making calls, while only results follow it
    for i, turn in enumerate(turns):
        if turn.tool_call_id is not None and turn.tool_call_id in owner:
            unit[i] = unit[owner[turn.tool_call_id]]
        elif turn.tool_call_id is None and turn.role in ("tool", "function") and caller is not None:
            unit[i] = unit[caller]
        if turn.tool_calls:
            caller = i
            for call in turn.tool_calls:
                if call:
                    owner.setdefault(call, i)
        elif turn.role not in ("tool", "function"):
            caller = None
    return unit


@dataclass(frozen=True)
class Shape:
    """How a conversation's turns hang together, and what their non-text content costs.

    Attributes:
        unit: Each turn's unit (:func:`units`).
        members: The turns of each unit, in order.
        extra: Each turn's non-text cost: its ``extra`` by ``count``, plus
            :data:`MEDIA_TOKENS` per media block.
        wholes: The units kept or dropped only as a whole (a tool call with its results, or a
            message with non-text content).
        count: The token counter.
    """

    unit: list[int]
    members: dict[int, list[int]]
    extra: list[int]
    wholes: frozenset[int]
    count: Callable[[str], int]

    @classmethod
    def of(cls, turns: Sequence[Turn], count: Callable[[str], int]) -> Shape:
        """The shape of ``turns``, costed by ``count``."""
        unit = units(turns)
        extra = [
            (count(turn.extra) if turn.extra else 0) + turn.media * MEDIA_TOKENS for turn in turns
        ]
        members: dict[int, list[int]] = {}
        for i, u in enumerate(unit):
            members.setdefault(u, []).append(i)
        wholes = frozenset(u for u, m in members.items() if len(m) > 1 or any(extra[i] for i in m))
        return cls(unit, members, extra, wholes, count)

    def whole(self, i: int) -> bool:
        """Turn ``i`` belongs to a unit kept or dropped only as a whole."""
        return self.unit[i] in self.wholes

    def cost(self, i: int, text: str | None) -> int:
        """What turn ``i`` costs when kept with ``text``."""
        return (self.count(text) if text else 0) + self.extra[i]


def write_dict(m: Mapping[str, Any], turn: Turn, text: str) -> dict[str, Any]:
    if text == turn.text:
        return dict(m)
    content = m.get("content")
    if isinstance(content, list):  # content parts: one text part, then the others as they were
        others = [p for p in content if not _is_text_part(p)]
        return {**m, "content": ([{"type": "text", "text": text}] if text else []) + others}
    return {**m, "content": text}


def read_dict(i: int, m: Any) -> Turn:
    if not isinstance(m, Mapping):
        raise TypeError(f"messages[{i}] must be a dict, got {type(m).__name__}")
    role, content, name = m.get("role"), m.get("content"), m.get("name")
    if not isinstance(role, str):
        raise TypeError(f"messages[{i}]['role'] must be a str, got {type(role).__name__}")
    if "content" not in m and not any(m.get(k) for k in ("tool_calls", "function_call", "audio")):
        keys = ", ".join(repr(k) for k in m if k != "role")
        raise ValueError(
            f"messages[{i}] has no 'content' key{f' (it has {keys})' if keys else ''}: "
            "compress_history reads OpenAI-style messages, whose text is under 'content'"
        )
    if content is None:
        content = ""
    extra: list[Any] = []
    media = 1 if m.get("audio") else 0  # an assistant's earlier audio answer: {"id": ...}
    if isinstance(content, list):  # OpenAI content parts: text, image_url, input_audio, file...
        parts = content
        for p in parts:
            if not isinstance(p, (str, Mapping)):
                raise TypeError(
                    f"messages[{i}]['content'] parts must be dicts or str, got {type(p).__name__}"
                )
        # a blank line between parts: each is its own paragraph to the layout stage (one line
        # break would read "... is alpha" and "bravo ..." as one wrapped sentence)
        content = "\n\n".join(_part_text(p) for p in parts if _is_text_part(p))
        media += sum(1 for p in parts if not _is_text_part(p) and p.get("type") in MEDIA_TYPES)
        extra += [p for p in parts if not _is_text_part(p) and p.get("type") not in MEDIA_TYPES]
    if not isinstance(content, str):
        raise TypeError(
            f"messages[{i}]['content'] must be a str or a list of parts, got "
            f"{type(content).__name__}"
        )
    calls = m.get("tool_calls") or []
    if not isinstance(calls, list):
        raise TypeError(f"messages[{i}]['tool_calls'] must be a list, got {type(calls).__name__}")
    ids = tuple(str(c.get("id") or "") if isinstance(c, Mapping) else "" for c in calls)
    if m.get("function_call"):  # the legacy single call: answered by the next "function" turn
        calls = [*calls, m["function_call"]]
        ids = (*ids, "")
    call_id = m.get("tool_call_id")
    return Turn(
        role,
        content,
        name if isinstance(name, str) else None,
        extra=as_json(calls + extra) if calls or extra else "",
        media=media,
        tool_calls=ids,
        tool_call_id=str(call_id) if call_id is not None else None,
    )


def _is_text_part(p: Any) -> bool:
    return isinstance(p, str) or (isinstance(p, Mapping) and p.get("type") == "text")


def _part_text(p: Any) -> str:
    text = p if isinstance(p, str) else p.get("text", "")
    return text if isinstance(text, str) else ""


def as_json(value: Any) -> str:
    """Compact, stable JSON of non-text content, for counting its tokens (objects by ``str``).

    Example:
        >>> as_json([{"name": "get_weather", "args": {"city": "Paris"}}])
        '[{"args":{"city":"Paris"},"name":"get_weather"}]'
    """
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
