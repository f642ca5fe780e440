"""Benchmark items from the third-party data in ``benchmarks/data`` (never ``../shared``).

Every loader yields items of one form::

    {"id": str, "dataset": str, "query": str,
     "documents": [(text, {"title": title}), ...],
     "answers": [str, ...],                      # gold answer strings ([] where abstractive)
     "evidence": [(doc_index, start, end), ...],  # char spans of gold sentences/paragraphs/turns
     "meta": {...}}

- ``nq``: NQ-20 (lost-in-the-middle NQ-open oracle). The question's gold passage plus 19 other
  questions' gold passages, the 19 chosen by BM25 (rank_bm25, lower-cased word tokens) to the
  question (stop words removed), skipping any passage that contains a normalised answer or
  repeats the gold text. Each question gives three items, gold first / middle (10th) / last
  (``meta["gold_position"]``). Evidence: the whole gold passage.
- ``hotpotqa``: distractor setting, the 10 paragraphs as documents (sentences joined with their
  original spacing, title as metadata). Evidence: the supporting-fact sentences.
- ``kv``: kv-retrieval-75. One document per pair ``{"<key>": "<value>"}``; the query asks for one
  key's value. Evidence: the needle's document.
- ``clapnq``: answerable dev. One passage as one document; evidence: the annotators' selected
  sentences. Answers are long-form (no answer recall).
- ``qmsum``: validation meetings, each transcript turn a document ``Speaker: content`` (what a
  chat-memory user passes); one item per specific query. Evidence: the relevant turns. Answers are
  abstractive summaries (no answer recall). ``max_turns`` truncates a meeting (its queries are kept
  when a relevant turn survives the cut).
- ``triviaqa``: LongBench TriviaQA (200 questions). One noisy web page per question, split on
  newlines into chunks, each chunk a document (no titles); query = the text after "Question:";
  answers = all aliases. No evidence labels (answer recall only).
- ``hotpot_hard``: the HotpotQA questions with 20 paragraphs: the 2 gold paragraphs plus the 18
  corpus paragraphs most similar to the question by MiniLM cosine (of ``"title: text"``), never a
  gold paragraph nor one containing a normalised answer (yes/no answers excepted), shuffled by a
  seed from the question id; titles present. The distractor choice is precomputed by
  :func:`~benchmarks.hotpot_hard.build_hotpot_hard` into ``hotpotqa/hotpot_hard_distractors.json``
  (so loading needs no model). Evidence: the supporting-fact sentences.
- ``hotpot_hard_notitle``: the same items without titles (every ``title`` is "").
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .hotpot_hard import (
    HOTPOT_HARD_DOCS,
    build_hotpot_hard,
    load_hotpot_hard,
    load_hotpot_hard_notitle,
)
from .metrics import contains, normalize

DATA = Path(__file__).resolve().parent / "data"
DATASETS = (
    "nq",
    "hotpotqa",
    "kv",
    "clapnq",
    "qmsum",
    "triviaqa",
    "hotpot_hard",
    "hotpot_hard_notitle",
)
_WORD = re.compile(r"\w+")
__all__ = [
    "DATA",
    "DATASETS",
    "HOTPOT_HARD_DOCS",
    "Item",
    "build_hotpot_hard",
    "jsonl_records",
    "load",
    "load_hotpot_hard",
    "load_hotpot_hard_notitle",
    "content_words",
    "scaling_text",
]

Item = dict[str, Any]


def jsonl_records(path: Path) -> Iterator[dict[str, Any]]:
    """The records of a JSON Lines file (gzipped when it ends in ``.gz``)."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as f:
        for line in f:
            if line.strip():
                yield json.loads(line)


def _stopwords() -> frozenset[str]:
    """English stop words from the NLTK data bundled with llama-index-core (offline)."""
    try:
        import llama_index.core as lic

        path = Path(lic.__file__).parent / "_static" / "nltk_cache" / "corpora" / "stopwords"
        return frozenset((path / "english").read_text(encoding="utf-8").split())
    except (ImportError, OSError):
        return frozenset()


_STOP: frozenset[str] | None = None


def content_words(text: str) -> list[str]:
    """Lower-cased word tokens of ``text`` without English stop words (what BM25 ranks by)."""
    global _STOP
    if _STOP is None:
        _STOP = _stopwords()
    return [w for w in _WORD.findall(text.lower()) if w not in _STOP]


def load_nq(
    limit: int | None = None,
    positions: tuple[str, ...] = ("first", "middle", "last"),
    n_docs: int = 20,
) -> list[Item]:
    """NQ-20 items: ``limit`` questions x ``positions``."""
    from rank_bm25 import BM25Okapi

    records = list(jsonl_records(DATA / "lost-in-the-middle" / "nq-open-oracle.jsonl.gz"))
    pool = [(r["ctxs"][0]["title"], r["ctxs"][0]["text"]) for r in records]
    bm25 = BM25Okapi([content_words(f"{t} {x}") for t, x in pool])
    pool_norm: list[str | None] = [None] * len(pool)
    items: list[Item] = []
    slots = {"first": 0, "middle": n_docs // 2 - 1, "last": n_docs - 1}
    for qi, rec in enumerate(records[: limit if limit is not None else len(records)]):
        gold = pool[qi]
        answers_n = [normalize(a) for a in rec["answers"] if normalize(a)]
        scores = bm25.get_scores(content_words(rec["question"]))
        distractors: list[tuple[str, str]] = []
        seen = {gold[1].strip()}
        for j in sorted(range(len(pool)), key=lambda j: -scores[j]):
            if j == qi or pool[j][1].strip() in seen:
                continue
            if pool_norm[j] is None:
                pool_norm[j] = normalize(pool[j][1])
            if any(contains(pool_norm[j] or "", a) for a in answers_n):
                continue
            distractors.append(pool[j])
            seen.add(pool[j][1].strip())
            if len(distractors) == n_docs - 1:
                break
        for pos in positions:
            slot = slots[pos]
            docs = distractors[:slot] + [gold] + distractors[slot:]
            documents = [(text, {"title": title}) for title, text in docs]
            items.append(
                {
                    "id": f"nq-{qi}-{pos}",
                    "dataset": "nq",
                    "query": rec["question"],
                    "documents": documents,
                    "answers": list(rec["answers"]),
                    "evidence": [(slot, 0, len(gold[1]))],
                    "meta": {"gold_position": pos, "question_index": qi},
                }
            )
    return items


def load_hotpotqa(limit: int | None = None) -> list[Item]:
    """HotpotQA distractor items (10 paragraphs each)."""
    with gzip.open(DATA / "hotpotqa" / "hotpotqa_train.json.gz", "rt", encoding="utf-8") as f:
        records = json.load(f)
    items: list[Item] = []
    for rec in records[: limit if limit is not None else len(records)]:
        documents: list[tuple[str, dict[str, str]]] = []
        sent_spans: list[list[tuple[int, int]]] = []
        for title, sentences in rec["context"]:
            text, spans = "", []
            for s in sentences:
                lead = len(s) - len(s.lstrip())
                a = len(text) + lead
                text += s
                b = len(text.rstrip())
                spans.append((a, max(a, b)))
            documents.append((text, {"title": title}))
            sent_spans.append(spans)
        titles = [t for t, _ in rec["context"]]
        evidence = []
        for title, sid in rec["supporting_facts"]:
            if title in titles:
                d = titles.index(title)
                if 0 <= sid < len(sent_spans[d]) and sent_spans[d][sid][1] > sent_spans[d][sid][0]:
                    evidence.append((d, *sent_spans[d][sid]))
        items.append(
            {
                "id": f"hotpotqa-{rec['_id']}",
                "dataset": "hotpotqa",
                "query": rec["question"],
                "documents": documents,
                "answers": [rec["answer"]],
                "evidence": evidence,
                "meta": {"type": rec.get("type"), "level": rec.get("level")},
            }
        )
    return items


def load_kv(limit: int | None = None) -> list[Item]:
    """kv-retrieval-75 items: 75 one-pair documents, one needle key."""
    items: list[Item] = []
    path = DATA / "lost-in-the-middle" / "kv-retrieval-75_keys.first100.jsonl.gz"
    for i, rec in enumerate(jsonl_records(path)):
        if limit is not None and i >= limit:
            break
        documents = [(json.dumps({k: v}), {"title": ""}) for k, v in rec["ordered_kv_records"]]
        keys = [k for k, _ in rec["ordered_kv_records"]]
        d = keys.index(rec["key"])
        items.append(
            {
                "id": f"kv-{i}",
                "dataset": "kv",
                "query": f'Extract the value corresponding to the key "{rec["key"]}".',
                "documents": documents,
                "answers": [rec["value"]],
                "evidence": [(d, 0, len(documents[d][0]))],
                "meta": {"needle_position": d},
            }
        )
    return items


def load_clapnq(limit: int | None = None) -> list[Item]:
    """CLAPNQ answerable dev: one passage, gold = the selected sentences."""
    items: list[Item] = []
    for rec in jsonl_records(DATA / "clapnq" / "clapnq_dev_answerable.jsonl.gz"):
        if limit is not None and len(items) >= limit:
            break
        p = rec["passages"][0]
        text = p["text"]
        selected = {s for o in rec["output"] for s in o.get("selected_sentences", [])}
        evidence, cur = [], 0
        for s in p["sentences"]:
            a = text.find(s, cur)
            if a < 0:
                a = text.find(s)
            if a < 0:
                continue
            if s in selected:
                evidence.append((0, a, a + len(s)))
            cur = a + len(s)
        if not evidence:
            continue
        items.append(
            {
                "id": f"clapnq-{rec['id']}",
                "dataset": "clapnq",
                "query": rec["input"],
                "documents": [(text, {"title": p.get("title", "")})],
                "answers": [],
                "evidence": evidence,
                "meta": {"n_sentences": len(p["sentences"])},
            }
        )
    return items


def load_qmsum(
    limit: int | None = None, max_turns: int | None = None, max_meetings: int | None = None
) -> list[Item]:
    """QMSum validation: one item per specific query, turns as documents."""
    items: list[Item] = []
    for m, rec in enumerate(jsonl_records(DATA / "qmsum" / "val.jsonl.gz")):
        if max_meetings is not None and m >= max_meetings:
            break
        turns = rec["meeting_transcripts"][:max_turns] if max_turns else rec["meeting_transcripts"]
        documents = [(f"{t['speaker']}: {t['content']}", {"title": ""}) for t in turns]
        for qi, q in enumerate(rec["specific_query_list"]):
            if limit is not None and len(items) >= limit:
                return items
            rel: list[int] = []
            for a, b in q["relevant_text_span"]:
                rel.extend(range(int(a), int(b) + 1))
            rel = sorted({i for i in rel if i < len(documents)})
            if not rel:
                continue
            items.append(
                {
                    "id": f"qmsum-{m}-{qi}",
                    "dataset": "qmsum",
                    "query": q["query"],
                    "documents": documents,
                    "answers": [],
                    "evidence": [(i, 0, len(documents[i][0])) for i in rel],
                    "meta": {"meeting": m, "turns": len(documents)},
                }
            )
    return items


def load_triviaqa(limit: int | None = None) -> list[Item]:
    """LongBench TriviaQA: one web page per question, its non-empty lines as documents."""
    with gzip.open(DATA / "triviaqa" / "triviaqa.json.gz", "rt", encoding="utf-8") as f:
        records = json.load(f)
    items: list[Item] = []
    for i, rec in enumerate(records[: limit if limit is not None else len(records)]):
        text = rec["input"]
        head, _, rest = text.partition("Question:")
        passage = head.split("Passage:", 1)[-1]
        query = rest.split("Answer:", 1)[0].strip()
        chunks = [line.strip() for line in passage.split("\n") if line.strip()]
        items.append(
            {
                "id": f"triviaqa-{i}",
                "dataset": "triviaqa",
                "query": query,
                "documents": [(c, {"title": ""}) for c in chunks],
                "answers": list(rec["answers"]),
                "evidence": [],
                "meta": {"chunks": len(chunks)},
            }
        )
    return items


def load(name: str, limit: int | None = None, **kw: Any) -> list[Item]:
    """Items of data set ``name`` (one of :data:`DATASETS`)."""
    loaders = {
        "nq": load_nq,
        "hotpotqa": load_hotpotqa,
        "kv": load_kv,
        "clapnq": load_clapnq,
        "qmsum": load_qmsum,
        "triviaqa": load_triviaqa,
        "hotpot_hard": load_hotpot_hard,
        "hotpot_hard_notitle": load_hotpot_hard_notitle,
    }
    if name not in loaders:
        raise ValueError(f"dataset must be one of {DATASETS}, got {name!r}")
    return loaders[name](limit, **kw)


def scaling_text() -> list[str]:
    """Real text for the scaling run: QMSum turns, then NQ passages, then CLAPNQ passages, then
    HotpotQA paragraphs, then kv-retrieval pairs (~1.3M cl100k tokens in all; the last two only
    past ~820k), in file order, each piece once (no repeats, so no cache hits)."""
    pieces: list[str] = []
    for rec in jsonl_records(DATA / "qmsum" / "val.jsonl.gz"):
        pieces.extend(f"{t['speaker']}: {t['content']}" for t in rec["meeting_transcripts"])
    for rec in jsonl_records(DATA / "lost-in-the-middle" / "nq-open-oracle.jsonl.gz"):
        pieces.append(rec["ctxs"][0]["text"])
    for rec in jsonl_records(DATA / "clapnq" / "clapnq_dev_answerable.jsonl.gz"):
        pieces.append(rec["passages"][0]["text"])
    seen: set[str] = set()
    for item in load_hotpotqa() + load_kv():
        for text, _ in item["documents"]:
            if text not in seen:
                seen.add(text)
                pieces.append(text)
    return pieces
