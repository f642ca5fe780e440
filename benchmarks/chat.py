"""A chat-memory set built from NQ (issue 24, item 4): does a tight memory keep the answer, or the
earlier question that asked for it? ``python -m benchmarks.chat [--limit N]``.

Each item is a conversation of ``pairs`` earlier exchanges, a user question and the assistant's
answer (the sentence of the question's NQ gold passage that holds a gold answer), in random order,
one of them the exchange about question *i*; then the user asks question *i* again. The history
is compressed with :func:`semtoken_rag.compress_history` (the two last messages verbatim) into the
verbatim messages' cost plus 24, 48 or 96 tokens, and scored by answer recall over what is kept of
the earlier turns. The peer is what ``ChatMemoryBuffer`` and LangChain's ``trim_messages`` do: the
most recent turns that fit. The set is built here, never used to tune anything else, and reported
on its own.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from typing import Any

from . import metrics as X
from .datasets import DATA, jsonl_records

BUDGETS = (24, 48, 96)
_SENTENCE = re.compile(r"[^.!?]+[.!?]+")


def answer_sentence(passage: str, answers: list[str]) -> str | None:
    """The first sentence of ``passage`` that holds a normalised answer."""
    norm = [X.normalize(a) for a in answers if X.normalize(a)]
    for m in _SENTENCE.finditer(passage):
        s = m.group().strip()
        if any(X.contains(X.normalize(s), a) for a in norm):
            return s
    return None


def load_chat_nq(limit: int = 60, pairs: int = 8, seed: int = 0) -> list[dict[str, Any]]:
    """Conversations (see the module docstring), ``limit`` of them."""
    records = list(jsonl_records(DATA / "lost-in-the-middle" / "nq-open-oracle.jsonl.gz"))
    qa = []
    for r in records:
        s = answer_sentence(r["ctxs"][0]["text"], r["answers"])
        if s and 8 <= len(s.split()) <= 45:
            qa.append((r["question"].rstrip("?") + "?", s, r["answers"]))
    rng = random.Random(seed)
    items = []
    for i, (q, a, answers) in enumerate(qa[:limit]):
        others = rng.sample([x for j, x in enumerate(qa) if j != i], pairs)
        exchanges = [(q, a), *((oq, oa) for oq, oa, _ in others)]
        rng.shuffle(exchanges)
        msgs: list[dict[str, str]] = []
        for uq, ua in exchanges:
            msgs += [{"role": "user", "content": uq}, {"role": "assistant", "content": ua}]
        msgs.append({"role": "user", "content": q})
        items.append({"id": f"chat-nq-{i}", "query": q, "messages": msgs, "answers": answers})
    return items


def recent(messages: list[dict[str, str]], budget: int, count: Any) -> list[dict[str, str]]:
    """The most recent messages whose contents fit ``budget`` (ChatMemoryBuffer's rule)."""
    out: list[dict[str, str]] = []
    left = budget
    for m in reversed(messages):
        n = count(m["content"])
        if n > left:
            break
        out.append(m)
        left -= n
    return out[::-1]


def run(limit: int) -> dict[str, Any]:
    from semtoken_rag import SemTokenCompressor, compress_history

    core = SemTokenCompressor()
    count = core.token_counter
    rows: dict[str, dict[int, list[float]]] = {"ours": {}, "recent turns": {}}
    for it in load_chat_nq(limit):
        msgs = it["messages"]
        fixed = sum(count(m["content"]) for m in msgs[-2:])
        history = " ".join(m["content"] for m in msgs)
        answers = X.scorable_answers(it["answers"], it["query"], history)
        if not answers:
            continue
        for b in BUDGETS:
            kept = compress_history(msgs, it["query"], fixed + b, compressor=core)
            older = [m["content"] for m in kept[:-2] if m.get("content")]
            rows["ours"].setdefault(b, []).append(X.answer_recall(older, answers) or 0.0)
            mem = recent(msgs, fixed + b, count)
            older = [m["content"] for m in mem[:-2]]
            rows["recent turns"].setdefault(b, []).append(X.answer_recall(older, answers) or 0.0)
    return {
        name: {str(b): sum(v) / len(v) for b, v in per.items()} for name, per in rows.items()
    } | {"items": len(rows["ours"].get(BUDGETS[0], []))}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.chat", description=__doc__)
    p.add_argument("--limit", type=int, default=60)
    args = p.parse_args(argv)
    res = run(args.limit)
    json.dump(res, sys.stdout, indent=1)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
