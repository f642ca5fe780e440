"""Per-document fingerprints -> one :class:`~semtoken_rag.types.SpanTable` for the call.

A document short against the budget is one span (a chat turn or a key-value line is kept or
dropped whole). With ``adaptive`` granularity, the clause pieces of a sentence that fits the
budget share are joined back into the whole sentence; of a longer sentence, runs of low-entropy
(repetitive) pieces are joined, while information-dense pieces stay fine.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from ..config import Tuning
from ..types import DocFingerprints, Document, SpanTable
from .layout import ITEM, as_read, contexts, read_layout, shown
from .lines import Line, short_phrase


def coarsen(
    fp: DocFingerprints, threshold: float, max_tokens: int, median: float, whole: int
) -> list[list[int]]:
    """Groups of adjacent pieces to treat as one span.

    The clause pieces of a sentence of at most ``whole`` tokens are joined back into the whole
    sentence (fine granularity only pays when the budget is tight); of a longer sentence, runs of
    low-entropy pieces (entropy below ``threshold * median``) are joined up to ``max_tokens``,
    while information-dense pieces stay fine.

    Example:
        >>> import numpy as np
        >>> fp = DocFingerprints(starts=np.array([0, 5, 9]), ends=np.array([4, 8, 12]),
        ...     sentence=np.array([0, 0, 1]), vectors=np.zeros((3, 2)),
        ...     entropies=np.array([1.0, 1.0, 1.0]), tokens=np.array([2, 2, 2]),
        ...     doc_vector=np.zeros(2))
        >>> coarsen(fp, 0.5, 40, 1.0, whole=4)
        [[0, 1], [2]]
    """
    sentence_tokens: dict[int, int] = {}
    for k in range(len(fp)):
        s = int(fp.sentence[k])
        sentence_tokens[s] = sentence_tokens.get(s, 0) + int(fp.tokens[k])
    groups: list[list[int]] = []
    low = fp.entropies < threshold * median
    for k in range(len(fp)):
        s = int(fp.sentence[k])
        same = bool(groups) and int(fp.sentence[groups[-1][-1]]) == s
        whole_sentence = sentence_tokens[s] <= whole
        low_run = (
            low[k]
            and bool(groups)
            and low[groups[-1][-1]]
            and int(fp.tokens[groups[-1]].sum() + fp.tokens[k]) <= max_tokens
        )
        if same and (whole_sentence or low_run):
            groups[-1].append(k)
        else:
            groups.append([k])
    return groups


def unit_limits(budget: int, max_span_tokens: int, tuning: Tuning) -> tuple[int, int]:
    """For a budget of ``budget`` tokens: the most tokens of a sentence read whole
    (``whole_tokens`` of :func:`build_table`: ``unit_share`` of the budget, at least
    ``max_span_tokens``) and of a document read as one span (``whole_doc_tokens``: the larger of
    ``whole_document_tokens`` and ``whole_document_share`` of the budget, at most a unit).

    Example:
        >>> from semtoken_rag.config import Tuning
        >>> unit_limits(1000, 40, Tuning(unit_share=0.5, whole_document_tokens=64,
        ...                              whole_document_share=0.1))
        (500, 100)
    """
    unit = int(budget * tuning.unit_share)
    document = max(tuning.whole_document_tokens, int(budget * tuning.whole_document_share))
    return max(max_span_tokens, unit), min(document, unit)


def build_table(
    docs: Sequence[Document],
    fps: Sequence[DocFingerprints],
    count: Callable[[str], int],
    *,
    adaptive: bool,
    entropy_threshold: float,
    max_span_tokens: int,
    whole_tokens: int,
    doc_tokens: Sequence[int] = (),
    whole_doc_tokens: int = 0,
    reflowed: bool = False,
) -> SpanTable:
    """Flatten per-document fingerprints into one table of spans.

    Args:
        docs: The call's documents.
        fps: Their fingerprints, in the same order.
        count: The token counter (for coarsened spans).
        adaptive: Coarsen by entropy (:func:`coarsen`); otherwise one span per piece.
        entropy_threshold: Share of the input's median entropy below which a piece is low-entropy.
        max_span_tokens: Largest coarsened run of low-entropy pieces.
        whole_tokens: Sentences of at most this many tokens are kept whole (``adaptive``).
        doc_tokens: Token count of each document (with ``whole_doc_tokens``).
        whole_doc_tokens: A document of at most this many tokens is one span.
        reflowed: Count a span that holds a line break as what :func:`~.layout.shown` gives
            of it costs.
    """
    layouts = [read_layout(d.text) for d in docs]
    titles = [as_read(d, lay).title for d, lay in zip(docs, layouts)]
    ents = [fp.entropies[fp.tokens >= 3] for fp in fps]
    pool = np.concatenate(ents) if ents else np.zeros(0)
    median = float(np.median(pool)) if len(pool) else 0.0
    adaptive = adaptive and median > 0
    doc, start, end, vec, ent, tok, texts, sent = [], [], [], [], [], [], [], []
    ctx: list[str] = []
    sentence_ids: dict[tuple[int, int], int] = {}
    for i, (d, fp) in enumerate(zip(docs, fps)):
        if len(fp) > 1 and doc_tokens and doc_tokens[i] <= whole_doc_tokens:
            groups = [list(range(len(fp)))]
        elif adaptive:
            groups = coarsen(fp, entropy_threshold, max_span_tokens, median, whole_tokens)
        else:
            groups = [[k] for k in range(len(fp))]
        for g in groups:
            a, b = int(fp.starts[g[0]]), int(fp.ends[g[-1]])
            key = (i, int(fp.sentence[g[0]]) if len(groups) > 1 else -1)
            sent.append(sentence_ids.setdefault(key, len(sentence_ids)))
            w = fp.tokens[g].astype(np.float64) + 1e-6
            v = (fp.vectors[g] * w[:, None]).sum(axis=0)
            doc.append(i)
            start.append(a)
            end.append(b)
            vec.append(v / max(float(np.linalg.norm(v)), 1e-12))
            ent.append(float((fp.entropies[g] * w).sum() / w.sum()))
            texts.append(d.text[a:b])
            given = shown(d.text, layouts[i], a, b) if reflowed else texts[-1]
            if given != texts[-1]:
                tok.append(count(given))
            else:
                tok.append(int(fp.tokens[g[0]]) if len(g) == 1 else count(texts[-1]))
        ctx += contexts(d, layouts[i], start[len(ctx) :])
    dim = fps[0].doc_vector.shape[0] if fps else 1
    return SpanTable(
        doc=np.array(doc, dtype=np.int64),
        start=np.array(start, dtype=np.int64),
        end=np.array(end, dtype=np.int64),
        texts=texts,
        tokens=np.array(tok, dtype=np.int64),
        vectors=np.array(vec, dtype=np.float32).reshape(len(vec), dim),
        entropy=np.array(ent),
        titles=titles,
        doc_texts=[d.text for d in docs],
        doc_vectors=np.array([fp.doc_vector for fp in fps], dtype=np.float32).reshape(
            len(fps), dim
        ),
        sentence=np.array(sent, dtype=np.int64),
        context=ctx,
    )


def opens_item(text: str, start: int) -> bool:
    """Whether offset ``start`` of document ``text`` begins a definition: an item whose first
    line is a short term over its text (a man page's ``-z, --gzip`` above "Filter the archive
    through gzip."). What it defines comes first, so a piece of it keeps that beginning.

    Example:
        >>> doc = "Options:\\n\\n-z, --gzip\\n        Filter the archive through gzip."
        >>> opens_item(doc, doc.index("-z")), opens_item(doc, doc.index("Filter"))
        (True, False)
        >>> opens_item("- The Eyre Affair: Thursday Next Book 1: Jasper Fforde", 0)
        False
        >>> opens_item("Marketing: Um, it is an option, but there is\\nresearch on it.", 0)
        False
        >>> opens_item("2. Redistributions in binary form must reproduce the\\n   notice.", 0)
        False
    """
    for b in read_layout(text).blocks:
        if b.start <= start < max(b.end, b.start + 1):
            if b.kind != ITEM or start > max(b.start, b.body):
                return False
            nl = text.find("\n", b.start, b.end)
            if nl < 0 or not short_phrase(text, Line(b.start, len(text[:nl].rstrip()), 0)):
                return False
            line = text[text.rfind("\n", 0, b.start) + 1 : max(b.start, b.body)].expandtabs(4)
            below = text[nl + 1 : b.end].lstrip("\r\n").expandtabs(4)  # indented past the
            return len(below) - len(below.lstrip(" ")) > len(line)  # term: not a hanging indent
    return False
