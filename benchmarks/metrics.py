"""Answer recall (two definitions), evidence recall and budget overruns: pure functions over kept
text.

Normalisation is the SQuAD / lost-in-the-middle one: lower case, strip ASCII punctuation, drop the
articles a/an/the, collapse white space.

- :func:`answer_recall` (the targets use it): a string "survives" when its normalised form occurs
  in the normalised kept text of one document on word boundaries (so "1901" does not match inside
  "19012"); answers absent from the uncompressed input are not scored (:func:`scorable_answers`).
- :func:`answer_recall_any`, the simplest definition: a normalised answer is a substring of the
  normalised kept text of all documents joined; every item with a non-trivial answer is scored,
  including items whose answer is not in the input at all (:func:`nontrivial_answers`).
"""

from __future__ import annotations

import re
import string
from collections.abc import Sequence

_PUNCT = set(string.punctuation)
_HYPHEN_BREAK = re.compile(r"(?<=[^\W\d_])[-‐\u00ad][ \t]*\r?\n\s*(?=[^\W\d_])")
_ARTICLES = re.compile(r"\b(a|an|the)\b")
_YES_NO = {"yes", "no"}


def normalize(text: str) -> str:
    """Lower case, no punctuation, no a/an/the, white space collapsed; a word hyphenated across a
    line break (``com-\\npression``, as PDF text has it) is one word again.

    Example:
        >>> normalize("The  Eiffel-Tower, in Paris!")
        'eiffeltower in paris'
        >>> normalize("com-\\npression")
        'compression'
    """
    text = _HYPHEN_BREAK.sub("", text).lower()
    text = "".join(ch for ch in text if ch not in _PUNCT)
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def contains(haystack_norm: str, needle_norm: str) -> bool:
    """Whether ``needle_norm`` occurs in ``haystack_norm`` on word boundaries (both normalised)."""
    if not needle_norm:
        return False
    return f" {needle_norm} " in f" {haystack_norm} "


def scorable_answers(answers: Sequence[str], query: str, context: str | None = None) -> list[str]:
    """The normalised answers whose survival means something.

    Skipped: yes/no answers, answers already contained in the question (HotpotQA comparisons,
    where survival proves nothing), empty answers, and, when ``context`` is given, answers that are
    not in the uncompressed context at all (nothing can survive there).

    Example:
        >>> scorable_answers(["yes", "Paris", "France"], "Is Paris the capital of France?")
        []
        >>> scorable_answers(["France"], "Is France's capital Paris?")  # "frances": no boundary
        ['france']
        >>> scorable_answers(["Berlin"], "What is the capital of Germany?")
        ['berlin']
    """
    q = normalize(query)
    ctx = normalize(context) if context is not None else None
    out: list[str] = []
    for a in answers:
        n = normalize(a)
        if not n or n in _YES_NO or contains(q, n):
            continue
        if ctx is not None and not contains(ctx, n):
            continue
        if n not in out:
            out.append(n)
    return out


def answer_recall(kept: Sequence[str], answers: Sequence[str]) -> float | None:
    """1.0 when any of the (already scorable, normalised) ``answers`` survives in the kept text of
    one document, 0.0 when none does, ``None`` when there is nothing to score.

    Example:
        >>> answer_recall(["Wilhelm Röntgen won in 1901.", ""], ["1901"])
        1.0
        >>> answer_recall(["He won in 19012."], ["1901"]), answer_recall(["x"], [])
        (0.0, None)
    """
    if not answers:
        return None
    texts = [normalize(t) for t in kept if t]
    return 1.0 if any(contains(t, a) for t in texts for a in answers) else 0.0


def nontrivial_answers(answers: Sequence[str], query: str) -> list[str]:
    """The normalised answers for :func:`answer_recall_any`: not empty, not yes/no, and not a
    substring of the normalised question. Answers missing from the input are kept (they score 0).

    Example:
        >>> nontrivial_answers(["yes", "Paris", "France"], "Is France's capital Paris?")
        []
        >>> nontrivial_answers(["Lyon", "lyon."], "What is the capital of France?")
        ['lyon']
    """
    q = normalize(query)
    out: list[str] = []
    for a in answers:
        n = normalize(a)
        if n and n not in _YES_NO and n not in q and n not in out:
            out.append(n)
    return out


def answer_recall_any(kept: Sequence[str], answers: Sequence[str]) -> float | None:
    """1.0 when any of the (already non-trivial, normalised) ``answers`` is a substring of the
    normalised kept text of all documents joined, 0.0 when none is, ``None`` when there is nothing
    to score. No word boundaries, no per-document matching.

    Example:
        >>> answer_recall_any(["to Wilhelm Conrad", "Röntgen, of Germany"], ["conrad röntgen"])
        1.0
        >>> answer_recall_any(["He won in 19012."], ["1901"]), answer_recall_any(["x"], [])
        (1.0, None)
    """
    if not answers:
        return None
    joined = normalize(" ".join(kept))
    return 1.0 if any(a in joined for a in answers) else 0.0


def evidence_recall(
    kept: Sequence[str], documents: Sequence[str], evidence: Sequence[tuple[int, int, int]]
) -> float | None:
    """Share of the gold pieces (``(doc_index, start, end)`` char spans) kept whole.

    A piece counts as kept only when its whole normalised text occurs in the normalised kept text of
    its own document. ``None`` when there is no (non-empty) evidence.

    Example:
        >>> docs = ["Ada wrote it. Bob read it.", "Cy slept."]
        >>> ev = [(0, 0, 13), (0, 14, 26), (1, 0, 9)]
        >>> evidence_recall(["Ada wrote it.", "Cy slept."], docs, ev)
        0.6666666666666666
    """
    kept_norm: dict[int, str] = {}
    hits = total = 0
    for d, start, end in evidence:
        gold = normalize(documents[d][start:end])
        if not gold:
            continue
        total += 1
        if d not in kept_norm:
            kept_norm[d] = normalize(kept[d]) if d < len(kept) else ""
        hits += contains(kept_norm[d], gold)
    return hits / total if total else None


def overrun(kept_tokens: int, budget: int) -> int:
    """Tokens over the budget (0 when within it)."""
    return max(0, kept_tokens - budget)


def gold_text_recall(
    kept: Sequence[str], documents: Sequence[str], evidence: Sequence[tuple[int, int, int]]
) -> float | None:
    """Share of the gold text kept: of all words of the gold pieces (``(doc_index, start, end)``
    char spans), those inside a run of at least three consecutive gold words (or the whole
    piece, when shorter) that occurs in the normalised kept text (all documents joined).
    Rewards a kept answer clause as much as its words, not only whole sentences; layout-proof
    (line breaks, a wrap's hyphenation and which chunk holds the text do not matter). ``None``
    when there is no gold text.

    Example:
        >>> docs = ["Ada wrote the first program. Bob read it twice."]
        >>> gold_text_recall(["Ada wrote the first program"], docs, [(0, 0, 48)])
        0.5
    """
    joined = f" {normalize(' '.join(kept))} "
    covered = total = 0
    for d, start, end in evidence:
        words = normalize(documents[d][start:end]).split()
        n = len(words)
        total += n
        need = min(3, n)
        i = 0
        while i < n:
            j = i
            while j < n and f" {' '.join(words[i : j + 1])} " in joined:
                j += 1
            if j - i >= need:
                covered += j - i
                i = j
            else:
                i += 1
    return covered / total if total else None
