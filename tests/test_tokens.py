"""Token counters: what ``token_counter=`` accepts (issue 16, item 10)."""

from __future__ import annotations

import pytest

from semtoken_rag import SemTokenCompressor
from semtoken_rag.testing import bag_of_words
from semtoken_rag.tokens import TiktokenCounter, resolve_counter


def test_a_tiktoken_encoding_object_is_accepted() -> None:
    # was: taken for a Hugging Face tokenizer, then failing on first use with an error that did
    # not name token_counter
    encoding = TiktokenCounter("cl100k_base").encoding  # a tiktoken Encoding, loaded offline
    counter = resolve_counter(encoding)
    assert counter.name == "tiktoken:cl100k_base"  # same namespace as the name: caches match
    assert counter("Hello world") == 2
    docs = ["Ada wrote the notes. Bob read them twice.", "Paris is the capital of France."]
    by_object = SemTokenCompressor(encoder=bag_of_words, token_counter=encoding, cache=None)
    by_name = SemTokenCompressor(encoder=bag_of_words, token_counter="cl100k_base", cache=None)
    assert (
        by_object.compress("who read?", docs, budget=8).documents()
        == by_name.compress("who read?", docs, budget=8).documents()
    )


class EncodeButNotATokenizer:
    def encode(self, text: str) -> list[int]:
        return [len(text)]


def test_an_object_that_cannot_count_is_refused_at_construction_naming_the_parameter() -> None:
    with pytest.raises(TypeError, match="token_counter"):
        SemTokenCompressor(encoder=bag_of_words, token_counter=EncodeButNotATokenizer())
