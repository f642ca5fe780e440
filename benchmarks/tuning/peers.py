"""The peers through their real classes on the tuning items: ``python -m benchmarks.tuning.peers``.

BM25 sentences, SBERT sentences, whole-document dense, LangChain ``EmbeddingsFilter`` and LlamaIndex
``SentenceEmbeddingOptimizer`` come from :mod:`benchmarks.methods` (NLTK Punkt sentences, one shared
MiniLM whose encodes are served from the tuning memo, so mostly no new encoder work), vecr-compress
from its own ``compress`` (one user message per document, ``use_question_relevance=True``,
``protect_tail=0``; it may overrun: its output is clipped in reading order, the overrun counted).
Kept texts are scored with the benchmark metrics; results go to ``results/tuning/peers.json``.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator, MutableMapping
from typing import Any

import numpy as np

from .evaluate import load_set, text_metrics
from .features import OUT, RATIOS, Memo, key

log = logging.getLogger("benchmarks.tuning")
REAL = ("bm25", "sbert", "doc_dense", "lc_filter", "llamaindex", "vecr")


class MemoView(MutableMapping[str, np.ndarray]):
    """The tuning memos (text -> vector) seen as the benchmark MiniLM's ``memo`` dict."""

    def __init__(self, memos: list[Memo]) -> None:
        self.memos = memos

    def _find(self, t: str) -> Any:
        k = key("st", t)
        for m in self.memos:
            if k in m.data:
                return m.data[k]
        return None

    def __contains__(self, t: object) -> bool:
        return isinstance(t, str) and self._find(t) is not None

    def __getitem__(self, t: str) -> np.ndarray:
        v = self._find(t)
        if v is None:
            raise KeyError(t)
        return np.asarray(v, dtype=np.float32)

    def __setitem__(self, t: str, v: np.ndarray) -> None:
        self.memos[0].data[key("st", t)] = np.asarray(v, dtype=np.float16)
        self.memos[0].new += 1

    def __delitem__(self, t: str) -> None:
        raise NotImplementedError

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return sum(len(m.data) for m in self.memos)


def vecr(query: str, docs: list[tuple[str, dict[str, Any]]], budget: int) -> list[str]:
    import vecr_compress

    msgs = [{"role": "user", "content": t} for t, _ in docs]
    r = vecr_compress.compress(
        msgs, budget_tokens=budget, question=query, use_question_relevance=True, protect_tail=0
    )
    out = [""] * len(docs)
    for i, m in zip(r.kept_message_indices, r.messages, strict=True):
        c = m.get("content")
        out[i] = c if isinstance(c, str) else " ".join(b.get("text", "") for b in c)
    return out


def main(argv: list[str] | None = None) -> int:

    import torch

    torch.set_num_threads(1)
    from .. import methods as BM

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    names = (argv if argv is not None else sys.argv[1:]) or [
        "clapnq",
        "hotpotqa",
        "hotpot_hard",
        "hotpot_hard_notitle",
        "nq",
        "triviaqa",
        "qmsum",
        "kv",
    ]
    memos = [Memo("st", "peers"), Memo("st", "a"), Memo("st", "b")]  # new encodes go to the first
    minilm = BM.MiniLM()
    minilm.memo = MemoView(memos)  # type: ignore[assignment]
    meths = BM.Methods(minilm=minilm)
    path = OUT / "peers.json"
    res: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
    for name in names:
        if not (OUT / f"{name}.npz").exists():
            continue
        items = load_set(name)
        acc: dict[str, dict[int, dict[str, list[float]]]] = {}
        over: dict[str, list[int]] = {}
        for it in items:
            docs = list(it.raw["documents"])
            for m in REAL:
                fn = vecr if m == "vecr" else meths.get(m)
                for r in RATIOS:
                    b = it.budget(r)
                    texts, before, _after = BM.clip(fn(it.raw["query"], docs, b), b, meths.tokens)
                    over.setdefault(m, []).append(max(0, before - b))
                    for k, v in text_metrics(it, texts).items():
                        if v is not None:
                            acc.setdefault(m, {}).setdefault(r, {}).setdefault(k, []).append(v)
        res[name] = {
            m: {str(r): {k: float(np.mean(v)) for k, v in d.items()} for r, d in per.items()}
            for m, per in acc.items()
        }
        res[name]["_overrun_mean_tokens"] = {m: float(np.mean(v)) for m, v in over.items()}
        memos[0].save()
        path.write_text(json.dumps(res, indent=1))
        log.info(
            "%s: %s",
            name,
            {
                m: [
                    round(res[name][m][str(r)].get("ans", res[name][m][str(r)].get("ev", 0)), 3)
                    for r in RATIOS
                ]
                for m in REAL
            },
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
