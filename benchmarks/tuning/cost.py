"""Encoder cost of each representation on one fixed sample, in one process, no memo:
``python -m benchmarks.tuning.cost [N_DOCS]``.

Sample: the first documents of NQ-20 (titled Wikipedia passages) and of HotpotQA (titled
paragraphs), ``N_DOCS`` of each. Each representation is timed twice (the better taken), 1 torch
thread, relative to the compressor's one window-5 pass (``late5``).
"""

from __future__ import annotations

import json
import sys
import time

from .features import OUT, Encoders, items_of


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    n = int(args[0]) if args else 60
    E = Encoders()
    docs: list[tuple[str, str]] = []
    for name in ("nq", "hotpotqa"):
        seen = list(
            dict.fromkeys(
                (m.get("title", ""), t) for it in items_of(name) for t, m in it["documents"]
            )
        )
        docs += seen[:n]
    from semtoken_rag.pipeline.fingerprint import segment_document

    cfg = E.configs["default"]
    sents = [
        (title, text[p.start : p.end])
        for title, text in docs
        for p in segment_document(text, "sentence", cfg.max_span_tokens, E.count)
    ]
    model, enc = E.model, E.enc

    def st(texts: list[str]) -> None:
        model.encode(texts, batch_size=32, normalize_embeddings=True, show_progress_bar=False)

    jobs = {
        "late5": lambda: enc.token_states([x for _, x in docs], [t for t, _ in docs], 440),
        "late2": lambda: enc.token_states([x for _, x in docs], [t for t, _ in docs], 200),
        "late1": lambda: enc.token_states([x for _, x in docs], [t for t, _ in docs], 120),
        "sent": lambda: st([s for _, s in sents]),
        "sent_title": lambda: st([f"{t}: {s}" for t, s in sents]),
        "doc_st": lambda: st([x for _, x in docs]),
    }
    out: dict[str, float] = {}
    for k, fn in jobs.items():
        best = float("inf")
        for _ in range(2):
            t0 = time.perf_counter()
            fn()
            best = min(best, time.perf_counter() - t0)
        out[k] = best
    rel = {k: v / out["late5"] for k, v in out.items()}
    res = {
        "documents": len(docs),
        "sentences": len(sents),
        "seconds": out,
        "relative_to_late5": rel,
    }
    (OUT / "cost.json").write_text(json.dumps(res, indent=1))
    print(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
