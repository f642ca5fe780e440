"""Real hard-wrapped text compresses into whole sentences (issue 23): Python's licence as shipped,
and the same licence typeset as a man page at 80 columns (justified, hyphenated across lines)."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import numpy as np
import pytest

from semtoken_rag import SemTokenCompressor

DATA = Path(__file__).resolve().parents[1] / "data"
FILES = ["python-licence.txt", "python-licence.man80.txt"]
QUERIES = [
    "Who created Python and where?",
    "What does the PSF grant the licensee?",
    "Which law governs the BeOpen licence agreement?",
    "Is Python GPL-compatible?",
]
_END_OK = ".!?:;)\"'”’"
_HYPHENS = "-‐\u00ad"


def cut_at_wrap(text: str, end: int) -> bool:
    """A span ending at a line break while its sentence goes on on the next line."""
    if end >= len(text) or text[end] not in "\r\n":
        return False
    if text[end - 1] in _END_OK or "    " in text[:end].rsplit("\n", 1)[-1].strip():
        return False  # a sentence end, or a column-aligned table row
    rest = text[end:].lstrip(" \t")
    nxt = rest[1:] if rest.startswith("\r\n") else rest[1:] if rest[:1] == "\n" else rest
    nxt = nxt.lstrip(" \t")
    return bool(nxt) and nxt[0] not in "\r\n" and (nxt[0].islower() or text[end - 1] in _HYPHENS)


def starts_with_word_half(text: str, start: int) -> bool:
    """A span whose first word is the second half of a word hyphenated across a line break."""
    before = text[:start].rstrip(" \t")
    if not before.endswith("\n"):
        return False
    before = before.rstrip("\r\n")
    line = text[start:].split("\n", 1)[0]
    if "    " in line.strip():  # a column-aligned table row, not prose
        return False
    return len(before) >= 2 and before[-1] in _HYPHENS and before[-2].isalpha()


@pytest.mark.parametrize("name", FILES)
def test_hard_wrapped_licence_compresses_into_whole_sentences(
    compressor: SemTokenCompressor, name: str
) -> None:
    text = (DATA / name).read_text(encoding="utf-8")
    assert re.search(r"[a-z]\n", text)  # really hard-wrapped
    for query in QUERIES:
        for budget in (60, 200, 600):
            r = compressor.compress(query, [text], budget=budget)
            assert r.kept_tokens <= budget and r.spans
            for s in r.spans:
                assert text[s.start : s.end] == s.text
                assert not cut_at_wrap(text, s.end), (query, budget, s.text[-60:])
                assert not starts_with_word_half(text, s.start), (query, budget, s.text[:60])


def test_the_checks_catch_what_line_splitting_did() -> None:
    text = (DATA / "python-licence.man80.txt").read_text(encoding="utf-8")
    # what splitting at every line break gave: each wrapped line a span of its own
    lines = [(m.start(), m.end()) for m in re.finditer(r"[^\n]+", text)]
    assert any(cut_at_wrap(text, b) for _, b in lines)
    starts = [a + len(text[a:b]) - len(text[a:b].lstrip()) for a, b in lines]
    assert any(starts_with_word_half(text, a) for a in starts)


def test_the_encoder_reads_every_layout_of_a_document_alike(compressor: SemTokenCompressor) -> None:
    """Fingerprints do not depend on the layout: a title as metadata or as the first line, the
    body on one line or hard-wrapped with words hyphenated across breaks (PDF text) give the
    same span vectors and the same document vector (the real MiniLM; issue 23)."""
    title = "Australian National University"
    sentences = [
        "The Australian National University is a national research university in Canberra.",
        "Its main campus in Acton encompasses seven teaching and research colleges.",
        "Toad Hall is a residential hall for postgraduate students of the university.",
    ]
    flat = " ".join(sentences)
    wrapped = (
        "The Australian National University is a national re-\nsearch university in "
        "Canberra. Its main\ncampus in Acton encompasses seven teaching and research col-\n"
        "leges. Toad Hall is a residential hall for postgra-\nduate students of the university."
    )
    assert " ".join(wrapped.replace("-\n", "").split()) == flat
    renderings = [
        (flat, {"title": title}),
        (f"{title}\n{flat}", {}),
        (f"# {title}\n\n{wrapped}", {}),
        (f"{title}\n{wrapped}", {}),
    ]
    fps = [compressor.fingerprints([doc])[0] for doc in renderings]
    assert all(len(fp) == len(sentences) for fp in fps)
    for fp in fps[1:]:
        assert np.allclose(fp.vectors, fps[0].vectors, atol=2e-3)
        assert np.allclose(fp.doc_vector, fps[0].doc_vector, atol=2e-3)


def test_a_man_page_option_is_kept_with_its_name(compressor: SemTokenCompressor) -> None:
    """The answer to "how do I keep the input files" is the option's name: kept with its text."""
    page = (
        "DESCRIPTION\n       pack reduces the size of the named files. Each file is replaced by\n"
        "       one with the extension .pk, while keeping the same modes.\n\nOPTIONS\n"
        "       -c --stdout\n              Write output on standard output; keep original files\n"
        "              unchanged.\n\n"
        "       -k --keep\n              Keep (don't delete) input files during compression or\n"
        "              decompression.\n\n"
        "       -v --verbose\n              Verbose. Display the name and percentage reduction\n"
        "              for each file compressed or decompressed.\n"
    )
    res = compressor.compress("How do I keep the input files when compressing?", [page], budget=30)
    assert res.kept_tokens <= 30
    assert "-k --keep" in res.text and "Keep (don't delete)" in res.text


def test_kept_text_leaves_out_a_page_break(compressor: SemTokenCompressor) -> None:
    doc = (
        "The database is stored in several directories, which are searched in order. "
        "Information found in a\n2\nShared MIME-info Database\ndirectory is added to the "
        "information found in previous directories,\nexcept when glob-deleteall is used to "
        "overwrite parts of a definition.\n" + "An unrelated closing sentence of the page.\n" * 6
    )
    kept = _kept(compressor, "What does glob-deleteall do?", doc, 40)
    assert "glob-deleteall" in kept and "Shared MIME-info" not in kept and "\n2" not in kept


def test_a_quoted_reply_is_given_without_its_marks(
    compressor: SemTokenCompressor, quoted_reply: str
) -> None:
    kept = _kept(compressor, "What hourly rate was agreed last year?", quoted_reply, 40)
    assert "95 euros" in kept and ">" not in kept


def _kept(compressor: SemTokenCompressor, query: str, doc: str, budget: int) -> str:
    """The kept text of one document, after checking the budget and the spans' exact offsets."""
    res = compressor.compress(query, [doc], budget=budget)
    assert res.kept_tokens <= budget
    assert all(s.text == doc[s.start : s.end] for s in res.spans)
    return res.documents()[0]


API_RUN = """## run(command[, options])

Runs a command in a shell and buffers what it writes.

* `timeout` {number} The most milliseconds the command may run. **Default:** `0`.
* `maxBuffer` {number} The most bytes allowed on stdout or stderr. If exceeded, the child is
  killed and its output is cut off. See the note on buffer sizes below.
  **Default:** `1024 * 1024`.
* `shell` {string} The shell that runs the command. **Default:** `'/bin/sh'`."""
API_RUN_FILE = """## runFile(file[, args][, options])

Runs a file directly, without a shell, and buffers what it writes.

* `encoding` {string} The encoding of what the child writes. **Default:** `'utf8'`.
* `maxBuffer` {number} The most bytes allowed on stdout or stderr. If exceeded, the child is
  killed and its output is cut off. See the note on buffer sizes below.
  **Default:** `1024 * 1024`.
* `killSignal` {string} The signal that stops the child. **Default:** `'SIGTERM'`."""


@pytest.mark.parametrize("budget", [40, 60, 90])
def test_a_text_repeated_in_two_chunks_is_kept_once(
    compressor: SemTokenCompressor, budget: int
) -> None:
    """An API page repeats an option's text under every function (Node.js docs), and a chunk
    overlap repeats sentences: the copies sit in different contexts, so their fingerprints
    differ (cosine under the merge threshold), and both were kept, paying the budget twice."""
    from semtoken_rag.pipeline.merge import same_text

    q = "What happens when a child writes more than maxBuffer bytes?"
    r = compressor.compress(q, [API_RUN, API_RUN_FILE], budget=budget)
    kept = [same_text(s.text) for s in r.spans]
    assert len(kept) == len(set(kept)), [s.text for s in r.spans]
    assert "maxbuffer" in r.text.lower() and r.kept_tokens <= budget


MANUAL = textwrap.fill(
    "The parser reads a file of definitions and builds a tree of nodes. Each node holds a name, "
    "a type and its children. The structure must just be created with function create_element "
    "before it is filled. A node that is not found returns the code ELEMENT_NOT_FOUND. The "
    "encoder walks the tree and writes the DER bytes of every node in order. A value that does "
    "not match its type returns the code VALUE_NOT_VALID. The decoder reads the DER bytes back "
    "into a tree of the same shape. A tag that does not match returns the code TAG_ERROR. "
    "Every function returns SUCCESS when it works. The tree is freed with function "
    "delete_structure when it is no longer needed.",
    78,
)


def _inside(a: list[str], b: list[str]) -> bool:
    return any(b[k : k + len(a)] == a for k in range(len(b) - len(a) + 1))


@pytest.mark.parametrize("budget", [40, 60, 80, 120])
def test_a_splitters_overlap_is_paid_once(compressor: SemTokenCompressor, budget: int) -> None:
    """LangChain's splitter with an overlap starts each chunk with the end of the one before, cut
    at a word, and the two copies are cut into different pieces ("A node that is not found
    returns" ending one chunk, "function create_element before it is filled. A node that is not
    found returns" opening the next): no kept span's words lie inside another chunk's kept span."""
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    chunks = RecursiveCharacterTextSplitter(chunk_size=250, chunk_overlap=100).split_text(MANUAL)
    assert len(chunks) == 4 and all(b[:30] in a for a, b in zip(chunks, chunks[1:]))
    q = "What is returned when a node is not found or a tag does not match?"
    r = compressor.compress(q, chunks, budget=budget)
    assert r.kept_tokens <= budget and "TAG_ERROR" in r.text
    kept = [(s.doc_index, s.text.split()) for s in r.spans]
    for d, a in kept:
        for e, b in kept:
            assert d == e or len(a) > len(b) or not _inside(a, b), (" ".join(a), " ".join(b))
