"""Documents as the compressor reads them (issue 16, item 10: a missing title; issue 25, item 16:
a title that is not valid text)."""

from __future__ import annotations

import pytest

from semtoken_rag import SemTokenCompressor
from semtoken_rag.inputs import as_documents
from semtoken_rag.testing import XRAYS, bag_of_words
from semtoken_rag.types import Document

TEXT = XRAYS


def test_a_title_of_none_is_no_title() -> None:
    # was: the title "None", which then took part in lexical matching and fingerprints
    forms = [
        (TEXT, {"title": None}),
        {"text": TEXT, "title": None},
        {"text": TEXT, "metadata": {"title": None}},
    ]
    assert [d.title for d in as_documents(forms)] == ["", "", ""]
    assert [d.title for d in as_documents([(TEXT, {"title": 7})])] == ["7"]
    c = SemTokenCompressor(encoder=bag_of_words, cache=None)
    q = "None of them?"
    plain = c.compress(q, [TEXT, "Other text about none of this."], budget=12)
    titled = c.compress(q, [(TEXT, {"title": None}), "Other text about none of this."], budget=12)
    assert titled.doc_scores == plain.doc_scores
    assert titled.documents() == plain.documents()


@pytest.mark.parametrize(
    "doc",
    [
        (TEXT, {"title": "bad \ud800 title"}),
        {"text": TEXT, "title": "\udfff"},
        {"page_content": TEXT, "metadata": {"title": "lone \udc80"}},
        Document(TEXT, title="x \ud83d"),
    ],
)
def test_a_lone_surrogate_in_a_title_is_refused_naming_the_document(compressor, doc) -> None:
    # was: the real model's tokenizer raised "TypeError: TextInputSequence must be str"
    with pytest.raises(ValueError, match=r"documents\[1\] title.*unpaired surrogate"):
        compressor.compress("Who discovered X-rays?", ["Fine text.", doc], budget=12)
    with pytest.raises(ValueError, match=r"documents\[1\] title"):
        as_documents(["Fine text.", doc])


def test_the_title_metadata_gives_includes_splitters_headings() -> None:
    """Header splitters move a chunk's headings into metadata: they are its title (context)."""
    from semtoken_rag.inputs import title_of

    lc = {"Header 1": "Guide", "Header 3": "Offline", "Header 2": "Install", "source": "a.md"}
    assert title_of(lc) == "Guide Install Offline"
    assert title_of({"h1": "Guide", "heading_2": "Install"}) == "Guide Install"
    assert title_of({"title": "Guide", "Header 1": "guide", "Header 2": "Install"}) == (
        "Guide Install"
    )
    assert title_of({"document_title": "Report", "header_path": "/Results/"}) == "Report Results"
    assert title_of({"title": "", "document_title": "Report"}) == "Report"
    assert title_of({"title": 7}) == "7"  # as before: a non-str title is its str
    assert title_of({"Header 1": None, "header_path": "/", "subheader": "x", 3: "y"}) == ""
    doc = as_documents([("Run pip.", lc)])[0]
    assert doc.title == "Guide Install Offline" and dict(doc.metadata) == lc
