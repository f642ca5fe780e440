"""The end-to-end benchmark's corpus and questions, from the bundled data (``benchmarks/data``).

Chunks, about ``chunk_tokens`` cl100k tokens each (a piece never splits a sentence, a line or a
turn unless that alone is longer):

- ``nq``: the NQ-open gold passages (lost-in-the-middle), one chunk each, title as metadata.
- ``hotpotqa``: the HotpotQA corpus paragraphs (994), one chunk each, title as metadata.
- ``clapnq``: the CLAPNQ answerable dev passages, split into sentence-packed chunks, titled.
- ``qmsum``: the QMSum validation meetings, ``Speaker: content`` turns packed into chunks.
- ``triviaqa``: the LongBench TriviaQA pages' lines, packed into chunks (filler only).

Questions, taken in turn from NQ, HotpotQA, CLAPNQ and QMSum (specific queries). Each has the
ids of its gold chunks (NQ: its gold passage; HotpotQA: the supporting paragraphs; CLAPNQ: the
chunks of its passage; QMSum: the chunks holding its relevant turns). The gold chunks of the
chosen questions come first, then the rest of their QMSum meetings, then the other chunks in
the order above, so a small ``--chunks`` still holds what its questions need.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from ..datasets import DATA, jsonl_records
from ..hotpot_hard import hotpot_corpus

_SENTENCE = re.compile(r"(?<=[.!?])\s+")


@dataclass(frozen=True)
class Chunk:
    id: str
    text: str
    title: str
    source: str


@dataclass
class Question:
    id: str
    text: str
    source: str
    gold: list[str] = field(default_factory=list)


def pack(pieces: list[str], limit: int, count: Callable[[str], int], joiner: str) -> list[str]:
    """Consecutive ``pieces`` joined into chunks of at most ``limit`` tokens (a longer piece is
    split at sentence ends, then kept whole).

    Example:
        >>> pack(["a b", "c d", "e"], 4, lambda t: len(t.split()), " ")
        ['a b c d', 'e']
    """
    out: list[str] = []
    cur: list[str] = []
    for piece in pieces:
        parts = _SENTENCE.split(piece) if count(piece) > limit else [piece]
        for part in parts:
            if cur and count(joiner.join([*cur, part])) > limit:
                out.append(joiner.join(cur))
                cur = []
            cur.append(part)
    if cur:
        out.append(joiner.join(cur))
    return [c for c in out if c.strip()]


def build(
    n_chunks: int, n_questions: int, count: Callable[[str], int], chunk_tokens: int = 120
) -> tuple[list[Chunk], list[Question]]:
    """``n_chunks`` chunks and ``n_questions`` questions (golds limited to the corpus)."""
    chunks: dict[str, Chunk] = {}
    by_text: dict[str, str] = {}

    def add(text: str, title: str, source: str, key: str) -> str:
        if text in by_text:
            return by_text[text]
        chunks[key] = Chunk(key, text, title, source)
        by_text[text] = key
        return key

    per = max(1, n_questions // 4)
    questions: list[Question] = []
    # NQ: the gold passage of each question
    nq = list(jsonl_records(DATA / "lost-in-the-middle" / "nq-open-oracle.jsonl.gz"))
    nq_ids = [
        add(r["ctxs"][0]["text"], r["ctxs"][0]["title"], "nq", f"nq-{i}") for i, r in enumerate(nq)
    ]
    questions_nq = [
        Question(f"nq-{i}", r["question"], "nq", [nq_ids[i]]) for i, r in enumerate(nq[:per])
    ]
    # HotpotQA: corpus paragraphs; gold = the supporting facts' paragraphs
    corpus = hotpot_corpus()
    hp_ids = {
        t: add("".join(s), t, "hotpotqa", f"hotpotqa-{i}")
        for i, (t, s) in enumerate(corpus.items())
    }
    with gzip.open(DATA / "hotpotqa" / "hotpotqa_train.json.gz", "rt", encoding="utf-8") as f:
        hp = json.load(f)
    questions_hp = [
        Question(
            f"hotpotqa-{r['_id']}",
            r["question"],
            "hotpotqa",
            sorted({hp_ids[t] for t, _ in r["supporting_facts"] if t in hp_ids}),
        )
        for r in hp[:per]
    ]
    # CLAPNQ: passages in sentence-packed chunks; gold = the chunks of its passage
    questions_cl: list[Question] = []
    for i, r in enumerate(jsonl_records(DATA / "clapnq" / "clapnq_dev_answerable.jsonl.gz")):
        p = r["passages"][0]
        ids = [
            add(c, p.get("title", ""), "clapnq", f"clapnq-{i}-{k}")
            for k, c in enumerate(pack(p["sentences"] or [p["text"]], chunk_tokens, count, " "))
        ]
        if len(questions_cl) < per:
            questions_cl.append(Question(f"clapnq-{r['id']}", r["input"], "clapnq", ids))
    # QMSum: turns packed per meeting; gold = the chunks holding a relevant turn
    questions_qm: list[Question] = []
    qm_meetings: list[list[str]] = []
    for m, rec in enumerate(jsonl_records(DATA / "qmsum" / "val.jsonl.gz")):
        turns = [f"{t['speaker']}: {t['content']}" for t in rec["meeting_transcripts"]]
        owner, ids = _pack_turns(turns, chunk_tokens, count)
        ids = [add(text, "", "qmsum", f"qmsum-{m}-{k}") for k, text in enumerate(ids)]
        qm_meetings.append(ids)
        for qi, q in enumerate(rec["specific_query_list"]):
            if len(questions_qm) >= per:
                break
            rel = {i for a, b in q["relevant_text_span"] for i in range(int(a), int(b) + 1)}
            gold = sorted({ids[owner[i]] for i in rel if i < len(owner)})
            if gold:
                questions_qm.append(Question(f"qmsum-{m}-{qi}", q["query"], "qmsum", gold))
    # TriviaQA: page lines packed (filler)
    with gzip.open(DATA / "triviaqa" / "triviaqa.json.gz", "rt", encoding="utf-8") as f:
        for i, rec in enumerate(json.load(f)):
            passage = rec["input"].partition("Question:")[0].split("Passage:", 1)[-1]
            lines = [x.strip() for x in passage.split("\n") if x.strip()]
            for k, c in enumerate(pack(lines, chunk_tokens, count, "\n")):
                add(c, "", "triviaqa", f"triviaqa-{i}-{k}")

    questions = [
        q
        for group in _interleave(questions_nq, questions_hp, questions_cl, questions_qm)
        for q in group
    ]
    questions = questions[:n_questions]
    first = [g for q in questions for g in q.gold]
    for q in questions:  # then the rest of their meetings: QMSum distractors
        if q.source == "qmsum":
            first += qm_meetings[int(q.id.split("-")[1])]
    order = list(dict.fromkeys([*first, *chunks]))
    if len(order) < n_chunks:
        raise SystemExit(f"the bundled data gives {len(order)} chunks, fewer than {n_chunks}")
    keep = set(order[:n_chunks])
    for q in questions:
        q.gold = [g for g in q.gold if g in keep]
    return [chunks[k] for k in order[:n_chunks]], questions


def _pack_turns(
    turns: list[str], limit: int, count: Callable[[str], int]
) -> tuple[list[int], list[str]]:
    """Turns packed into chunks; returns (chunk index of each turn, chunk texts). A long turn
    may span several chunks; it is owned by its first."""
    owner: list[int] = []
    texts: list[str] = []
    cur: list[str] = []
    for turn in turns:
        if cur and count("\n".join([*cur, turn])) > limit:
            texts.append("\n".join(cur))
            cur = []
        owner.append(len(texts))
        if count(turn) > limit:
            if cur:
                texts.append("\n".join(cur))
                cur = []
                owner[-1] = len(texts)
            texts.extend(pack([turn], limit, count, " "))
            continue
        cur.append(turn)
    if cur:
        texts.append("\n".join(cur))
    return owner, texts


def _interleave(*groups: list[Question]) -> Iterator[list[Question]]:
    """One question of each group in turn: ``[a0, b0, c0, d0], [a1, ...]``."""
    for i in range(max(len(g) for g in groups)):
        yield [g[i] for g in groups if i < len(g)]
