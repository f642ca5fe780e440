"""How a chat history's turns share the budget, phase by phase (the engine of
:func:`~semtoken_rag.chat.compress_turns`): which turns stay verbatim (:func:`verbatim`), the
older turns compressed into the rest (:func:`compress_older`, whose passes give the budget of
given-up tool exchanges back to the texts), the turns before the first user turn dropped
(:func:`drop_before_first_user`), and the sum guarded (:func:`within_budget`)."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from .messages import SYSTEM_ROLES, Shape, Turn

if TYPE_CHECKING:
    from ..compressor import SemTokenCompressor

logger = logging.getLogger(__name__)

MAX_PASSES = 4
"""Most compress calls for one history: each pass after the first gives the budget of the tool
exchanges given up in the previous one back to the texts (in practice two or three suffice)."""


def compress_older(
    ts: Sequence[Turn],
    shape: Shape,
    older: list[int],
    left: int,
    query: str | None,
    core: SemTokenCompressor,
    start_with_user: bool,
    out: list[str | None],
) -> None:
    """Write the kept text of each older turn into ``out`` within ``left`` tokens: all of them
    verbatim when they fit (no model call), else :func:`fill`."""
    if not older or left <= 0:
        return
    if sum(shape.cost(i, ts[i].text) for i in older) <= left:
        for i in older:
            out[i] = ts[i].text
        return
    fill(ts, shape, older, left, query, core, start_with_user, out)


def drop_before_first_user(ts: Sequence[Turn], shape: Shape, out: list[str | None]) -> None:
    """Drop (in ``out``) the units of the kept turns before the first kept user turn (system and
    developer turns aside)."""
    lead = before_first_user(ts, out, range(len(ts)), shape)
    for i in (j for u in lead for j in shape.members[u]):
        out[i] = None


def within_budget(
    shape: Shape, older: list[int], pinned: Sequence[bool], budget: int, out: list[str | None]
) -> int:
    """Drop kept older units, oldest first, until all texts (and their non-text content) fit
    ``budget``; returns what the kept turns cost. The core honours the budget per document
    text: this guards the sum anyway."""
    total = sum(shape.cost(i, text) for i, text in enumerate(out) if text is not None)
    for u in sorted({shape.unit[i] for i in older if out[i] is not None}):
        if total <= budget:
            break
        for i in shape.members[u]:
            if not pinned[i] and out[i] is not None:
                total -= shape.cost(i, out[i])
                out[i] = None
        logger.warning("dropped turn(s) %s to stay within budget=%d", shape.members[u], budget)
    return total


def fill(
    ts: Sequence[Turn],
    shape: Shape,
    older: list[int],
    left: int,
    query: str | None,
    core: SemTokenCompressor,
    start_with_user: bool,
    out: list[str | None],
) -> None:
    """Write the kept text of each older turn into ``out`` (``None``: dropped), within ``left``.

    Whole units are admitted newest first while their non-text cost fits; the texts of the
    admitted units and of the other turns are compressed into the rest. A tool exchange whose
    results keep nothing (and, with ``start_with_user``, a kept unit before the first kept user
    turn) is given up and the texts compressed again with the budget it held: at most
    :data:`MAX_PASSES` compress calls, each giving up at least one unit.
    """
    admitted: set[int] = set()
    reserved = 0
    for u in sorted({shape.unit[i] for i in older if shape.whole(i)}, reverse=True):
        need = sum(shape.extra[i] for i in shape.members[u])
        if reserved + need <= left:
            admitted.add(u)
            reserved += need
    dropped: set[int] = set()
    for n in range(1, MAX_PASSES + 1):
        live = {
            i
            for i in older
            if (not shape.whole(i) or shape.unit[i] in admitted) and shape.unit[i] not in dropped
        }
        room = left - sum(shape.extra[i] for i in live)
        texts = [i for i in older if i in live and ts[i].text.strip()]
        kept: dict[int, str] = {}
        if texts and room > 0:
            docs = [(ts[i].text, {"title": _title(ts[i].role, ts[i].name)}) for i in texts]
            kept = dict(zip(texts, core.compress(query, docs, budget=room).documents()))
        for i in older:
            text = kept.get(i, "")
            out[i] = (text if text or shape.whole(i) else None) if i in live else None
        units = {shape.unit[i] for i in live}
        lost = {u for u in units if _results_lost(shape.members[u], ts, kept)}
        if start_with_user:
            lost |= before_first_user(ts, out, older, shape)
        for i in older:
            if shape.unit[i] in lost:
                out[i] = None
        if not lost:
            break
        dropped |= lost
        logger.debug("pass %d gave up unit(s) %s; their budget goes back to the texts", n, lost)
    # What the texts left unused takes whole units back, verbatim, newest first.
    slack = left - sum(shape.cost(i, out[i]) for i in older if out[i] is not None)
    first = _first_user(ts, out) if start_with_user else -1
    given_up = {shape.unit[i] for i in older if shape.whole(i) and out[i] is None}
    for u in sorted(given_up, reverse=True):
        need = sum(shape.cost(i, ts[i].text) for i in shape.members[u])
        if need <= slack and first is not None and u > first:
            for i in shape.members[u]:
                out[i] = ts[i].text
            slack -= need


def before_first_user(
    ts: Sequence[Turn], out: Sequence[str | None], among: Iterable[int], shape: Shape
) -> set[int]:
    """Units of the kept turns in ``among`` that come before the first kept user turn (system
    and developer turns aside); none when no user turn is kept."""
    first = _first_user(ts, out)
    if first is None:
        return set()
    return {
        shape.unit[i]
        for i in among
        if i < first and out[i] is not None and ts[i].role not in SYSTEM_ROLES
    }


def verbatim(
    ts: Sequence[Turn],
    shape: Shape,
    budget: int,
    keep_last: int,
    keep_system: bool,
    start_with_user: bool,
    degrade: bool,
) -> tuple[list[bool], int]:
    """Which turns stay verbatim, and what they cost (see :func:`compress_turns`).

    When they alone exceed ``budget``: ``ValueError``, or with ``degrade`` the first of these
    that fits, with a logged warning: fewer last turns (down to one), then also the system and
    developer turns compressed, then no turn verbatim.
    """
    pinned = _pins(ts, shape, keep_last, keep_system, start_with_user)
    fixed = sum(shape.cost(i, turn.text) for i, turn in enumerate(ts) if pinned[i])
    if fixed <= budget:
        return pinned, fixed
    problem = (
        f"budget={budget} tokens is below the {fixed} tokens of the turns kept verbatim "
        f"(system and developer messages, the last {keep_last}"
        f"{', reaching back to a user turn,' if start_with_user else ''} and the tool calls they "
        "answer)"
    )
    if not degrade:
        raise ValueError(f"{problem}; raise budget or lower keep_last")
    steps = [(k, keep_system) for k in range(keep_last - 1, 0, -1)]
    for k, system in [*steps, (min(keep_last, 1), False), (0, False)]:
        pinned = _pins(ts, shape, k, system, start_with_user)
        fixed = sum(shape.cost(i, turn.text) for i, turn in enumerate(ts) if pinned[i])
        if fixed <= budget:
            break
    logger.warning(
        "%s: kept the last %d verbatim%s instead",
        problem,
        k,
        "" if system else ", system and developer messages compressed",
    )
    return pinned, fixed


def _first_user(ts: Sequence[Turn], out: Sequence[str | None]) -> int | None:
    return next(
        (i for i, turn in enumerate(ts) if out[i] is not None and turn.role == "user"), None
    )


def _pins(
    ts: Sequence[Turn], shape: Shape, keep_last: int, keep_system: bool, start_with_user: bool
) -> list[bool]:
    """System and developer turns (``keep_system``), the last ``keep_last`` others and the
    units they belong to; with ``start_with_user``, reaching back to a user turn."""
    pinned = [keep_system and turn.role in SYSTEM_ROLES for turn in ts]
    rest = [i for i, p in enumerate(pinned) if not p]
    todo = set(rest[len(rest) - keep_last :]) if keep_last else set()
    while todo:
        for i in todo:
            pinned[i] = True
        todo = {j for i in todo for j in shape.members[shape.unit[i]] if not pinned[j]}
        if not todo and start_with_user:  # the tail starts at the user turn before it
            first = next(
                (i for i, turn in enumerate(ts) if pinned[i] and turn.role not in SYSTEM_ROLES),
                None,
            )
            if first is not None and ts[first].role != "user":
                back = next((j for j in range(first - 1, -1, -1) if ts[j].role == "user"), first)
                todo = {j for j in range(back, first) if not pinned[j]}
    return pinned


def _results_lost(unit: list[int], ts: Sequence[Turn], kept: Mapping[int, str]) -> bool:
    """A tool exchange (its caller first) whose results had text and kept none of it."""
    results = [i for i in unit[1:] if ts[i].text.strip()]
    return bool(results) and not any(kept.get(i) for i in results)


def _title(role: str, name: str | None) -> str:
    return f"{name} ({role})" if name else role
