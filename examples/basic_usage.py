"""Basic usage: compress retrieved passages for a question, within a token budget.

Runs offline top to bottom: ``python examples/basic_usage.py``. The default compressor uses the
bundled all-MiniLM-L6-v2 encoder and counts tokens with tiktoken's cl100k_base.
"""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from semtoken_rag import SemTokenCompressor  # noqa: E402

QUERY = "Who discovered X-rays, and when?"
DOCUMENTS = [
    (
        "Wilhelm Röntgen was a German physicist. He discovered X-rays on 8 November 1895 "
        "while experimenting with cathode-ray tubes. In 1901 he received the first Nobel Prize "
        "in Physics. He refused to patent his discovery.",
        {"title": "Wilhelm Röntgen", "source": "bio.txt"},
    ),
    (
        "The Eiffel Tower was completed in 1889 for the World's Fair in Paris. It is 330 metres "
        "tall and was the tallest man-made structure for 41 years.",
        {"title": "Eiffel Tower", "source": "places.txt"},
    ),
    (
        "Medical imaging began with radiography. Doctors soon used X-rays to find bullets and "
        "broken bones. Computed tomography, developed in the 1970s, combines many X-ray images.",
        {"title": "Medical imaging", "source": "science.txt"},
    ),
]


def main() -> None:
    compressor = SemTokenCompressor()
    result = compressor.compress(QUERY, DOCUMENTS, budget=40)

    # Numbers, never formatted strings: format them at the edge.
    print(f"kept {result.kept_tokens} of {result.original_tokens} tokens ({result.ratio:.0%})")

    # Every kept span carries its provenance: document, character offsets, score.
    for span in result.spans:
        text, meta = DOCUMENTS[span.doc_index]
        assert text[span.start : span.end] == span.text
        print(f"  {meta['source']}[{span.start}:{span.end}] score={span.score:.2f}  {span.text}")

    # Per input document, in the caller's order ("" where nothing was kept).
    for (_, meta), kept in zip(DOCUMENTS, result.documents(), strict=True):
        print(f"{meta['title']!r}: {kept!r}")

    # The whole context for the prompt, and a JSON-ready dict for logs.
    print("\ncontext:\n" + result.text)
    assert set(result.to_dict()) >= {"spans", "kept_tokens", "documents"}

    # Or a share of the input instead of a fixed budget. This second call reuses the cached
    # fingerprints of the documents (the first call also loaded the model), so it is fast.
    quarter = compressor.compress(QUERY, DOCUMENTS, ratio=0.25)
    print(f"ratio=0.25 -> {quarter.kept_tokens} tokens, {quarter.speedup:.1f}x fewer")
    print("stages (ms):", {k: round(v * 1000, 1) for k, v in quarter.timings.items()})


if __name__ == "__main__":
    main()
