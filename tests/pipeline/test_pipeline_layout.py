"""The layout stage: headings as context, wrapped lines joined, line units kept, offsets exact."""

from __future__ import annotations

import textwrap

import pytest
from growth import exponent
from hypothesis import given, settings
from hypothesis import strategies as st

from semtoken_rag.pipeline.breaks import inline_break, wrap_width
from semtoken_rag.pipeline.layout import (
    CODE,
    HEADING,
    ITEM,
    TABLE,
    TEXT,
    as_read,
    contexts,
    read_layout,
)
from semtoken_rag.pipeline.linemarks import read_lines
from semtoken_rag.pipeline.segment import segment
from semtoken_rag.types import Document

BODY = (
    "Arthur's Magazine (1844–1846) was an American literary periodical published in "
    "Philadelphia in the 19th century. Edited by T.S. Arthur, it featured work by Edgar A. Poe, "
    "J.H. Ingraham, Sarah Josepha Hale, Thomas G. Spear, and others. In May 1846 it was merged "
    "into Godey's Lady's Book."
)
SENTENCES = [
    "Arthur's Magazine (1844–1846) was an American literary periodical published in "
    "Philadelphia in the 19th century.",
    "Edited by T.S. Arthur, it featured work by Edgar A. Poe, J.H. Ingraham, Sarah Josepha "
    "Hale, Thomas G. Spear, and others.",
    "In May 1846 it was merged into Godey's Lady's Book.",
]


def kinds(doc: str) -> list[tuple[str, str]]:
    return [(b.kind, doc[b.start : b.end]) for b in read_layout(doc).blocks]


def flat(s: str) -> str:
    return " ".join(s.split())


RENDERINGS = {
    "title line": "Arthur's Magazine\n" + BODY,
    "markdown": "# Arthur's Magazine\n\n" + BODY,
    "setext": "Arthur's Magazine\n=================\n\n" + BODY,
    "rst over and under": "=================\nArthur's Magazine\n=================\n\n" + BODY,
    "bold line": "**Arthur's Magazine**\n\n" + BODY,
    "field": "Title: Arthur's Magazine\n" + BODY,
    "wrapped at 78": "Arthur's Magazine\n" + textwrap.fill(BODY, 78),
    "wrapped at 40": "Arthur's Magazine\n\n" + textwrap.fill(BODY, 40),
    "crlf": ("Arthur's Magazine\r\n" + textwrap.fill(BODY, 60)).replace("\n", "\r\n"),
}


@pytest.mark.parametrize("doc", RENDERINGS.values(), ids=list(RENDERINGS))
def test_every_rendering_reads_the_same_title_and_sentences(doc: str) -> None:
    lay = read_layout(doc)
    assert lay.title_text(doc) == "Arthur's Magazine"
    assert [flat(doc[p.start : p.end]) for p in segment(doc, max_tokens=200)] == SENTENCES
    read = as_read(Document(doc), lay)
    assert read.title == "Arthur's Magazine" and doc[read.context_end :].strip().startswith(
        ("=", "Arthur's Magazine (")
    )


def test_metadata_title_wins_and_its_duplicate_line_is_not_content() -> None:
    doc = "Arthur's Magazine\n" + BODY
    d = Document(doc, title="arthur’s magazine")  # same title, other case and apostrophe
    read = as_read(d, read_layout(doc))
    assert read.title == "arthur’s magazine" and read.context_end == len("Arthur's Magazine")
    other = as_read(Document(doc, title="Periodicals"), read_layout(doc))
    assert other.title == "Periodicals" and other.context_end == 0
    assert contexts(Document(doc, title="Periodicals"), read_layout(doc), [20]) == [
        "Periodicals Arthur's Magazine"
    ]


def test_markdown_sections_give_each_span_its_headings() -> None:
    doc = (
        "# Guide\n\nIntro text here.\n\n## Install\n\nRun pip.\n\n### Offline\n\nSet HF_OFFLINE.\n"
    )
    lay = read_layout(doc)
    starts = [p.start for p in segment(doc)]
    assert contexts(Document(doc), lay, starts) == [
        "Guide",
        "Guide Install",
        "Guide Install Offline",
    ]


def test_hard_wrapped_hyphenated_man_page_text_is_one_logical_line() -> None:
    doc = (
        "DESCRIPTION\n"
        "       GNU tar is an archiving program designed to store multiple files  in  a\n"
        "       single file (an archive), and to manipulate such archives.  The archive\n"
        "       can be either a regular file or a device (e.g. a tape drive, hence  the\n"
        "       name  of the program, which stands for tape archiver), which can be lo‐\n"
        "       cated on the local or remote machine.\n"
    )
    lay = read_layout(doc)
    assert [b.kind for b in lay.blocks] == [HEADING, TEXT]
    pieces = [doc[p.start : p.end] for p in segment(doc, max_tokens=200)]
    assert len(pieces) == 2
    assert pieces[1].startswith("The archive\n") and pieces[1].endswith("remote machine.")


def test_a_line_that_leaves_a_bracket_open_goes_on() -> None:
    # an HTML page's text keeps its source's ragged line breaks; "(and later" over "/var/adm),
    # thus ..." was a paragraph's end, and the sentence's rest a span of its own (FINDINGS 20.7)
    doc = (
        "adm\n\n"
        "\t    Group adm is used for system monitoring tasks. Members of this group\n"
        "\t    can read many log files in /var/log. Historically, /var/log was\n"
        "\t    /usr/adm (and later\n"
        "\t    /var/adm), thus the name of the group.\n\n"
        "\t    Its members (see below) read the logs.\n"
        "\t    Nobody else does.\n"
    )
    blocks = [doc[b.start : b.end].strip() for b in read_layout(doc).blocks]
    assert any(b.startswith("Group adm") and b.endswith("name of the group.") for b in blocks)
    assert not any(b.startswith("/var/adm)") for b in blocks)
    pieces = [doc[p.start : p.end] for p in segment(doc, max_tokens=200)]
    assert any(p.startswith("Historically") and p.endswith("group.") for p in pieces)


def test_hyphenated_break_is_never_a_cut() -> None:
    words = " ".join(["com-\npression"] * 80)  # one long sentence with no clause mark
    pieces = [words[p.start : p.end] for p in segment(words, max_tokens=12)]
    assert len(pieces) > 2
    assert not any(p.startswith("pression") or p.endswith("com-") for p in pieces)


def test_lists_code_tables_stay_line_units() -> None:
    doc = (
        "Steps to follow:\n"
        "- install the package with pip, which takes about a minute on a\n"
        "  fresh machine\n"
        "- run the tests\n"
        "\n"
        "```\n"
        "pip install semtoken-rag\n"
        "pytest -q\n"
        "```\n"
        "\n"
        "| name | value |\n"
        "|------|-------|\n"
        "| a    | 1     |\n"
    )
    assert kinds(doc) == [
        (TEXT, "Steps to follow:"),
        (ITEM, "- install the package with pip, which takes about a minute on a\n  fresh machine"),
        (ITEM, "- run the tests"),
        (CODE, "pip install semtoken-rag"),
        (CODE, "pytest -q"),
        (TABLE, "| name | value |"),
        (TABLE, "| a    | 1     |"),
    ]


def test_a_wrapped_line_that_looks_like_code_is_the_rest_of_its_sentence() -> None:
    # a key-value record and prose wrapped at the width: the second line began with a keyword
    # ("return", "let", "public") or ended like code ('"}', ");") and was read as a code line,
    # cutting the record in two units (kv-75 hard-wrapped: -33 / -40 points at 8x / 16x)
    record = '{"a54e2eed-e625-4570-9f74-3624e77d6684":\n"d1ff29be-4e2a-4208-a182-0cea716be3d4"}'
    assert kinds(record) == [(TEXT, record)]
    prose = (
        "Meanwhile, the supermodel and businesswoman Tyra Banks will\n"
        "return for her second season as host; memoirs by his friends\n"
        "(1973); Olivier's own disquisition on acting (1986);"
    )
    assert kinds(prose) == [(TEXT, prose)]
    # a short line ending a thought, then code: still a code line of its own
    assert kinds("Run this:\nreturn x") == [(TEXT, "Run this:"), (CODE, "return x")]
    assert kinds("Example usage:\nimport os\nos.getcwd()") == [
        (TEXT, "Example usage:"),
        (CODE, "import os"),
        (CODE, "os.getcwd()"),
    ]


def test_a_list_item_goes_on_in_every_line_indented_under_its_bullet() -> None:
    # Markdown API docs (Node.js): an option's text goes on under its bullet after a full stop,
    # and a continuation line that opens with inline code and a link looked like code (pyenv's
    # README); both were cut off the item, and "You can modify the current directory's" was
    # kept without the command it names
    options = (
        "* `options` {Object}\n"
        "  * `cwd` {string|URL} Current working directory of the child process.\n"
        "    **Default:** `process.cwd()`.\n"
        "  * `timeout` {number} **Default:** `0`"
    )
    assert kinds(options) == [
        (ITEM, "* `options` {Object}"),  # a type in braces ends it: an item, not code
        (
            ITEM,
            "* `cwd` {string|URL} Current working directory of the child process.\n"
            "    **Default:** `process.cwd()`.",
        ),
        (ITEM, "* `timeout` {number} **Default:** `0`"),
    ]
    sources = (
        "Pyenv reads the version from these sources, in this order:\n"
        "\n"
        "2. The application-specific `.python-version` file in the current\n"
        "   directory (if present). You can modify the current directory's\n"
        "   `.python-version` file with the [`pyenv local`](https://github.com/pyenv/pyenv/blob/"
        "master/COMMANDS.md#pyenv-local)\n"
        "   command.\n"
        "\n"
        "3. The first `.python-version` file found (if any)."
    )
    assert [k for k, _ in kinds(sources)] == [TEXT, ITEM, ITEM]
    assert kinds(sources)[1][1].endswith("command.")
    # a bullet that opens a block, or assigns one, is code
    assert [k for k, _ in kinds("- foo: {\n- x = {a}\n- Returns: {string}")] == [CODE, CODE, ITEM]
    # a line at the bullet's own indent is not the item's: a new paragraph after a full stop
    assert kinds("- run the tests.\nThen read the report.") == [
        (ITEM, "- run the tests."),
        (TEXT, "Then read the report."),
    ]


def test_a_chunk_cut_inside_a_code_block_reads_its_fences_the_right_way_round() -> None:
    # a character or Markdown splitter cuts a fenced block in two: the chunk's first fence
    # closes a block, and reading it as an opening one turned the prose below into code lines
    # (one unit per wrapped line) and the next block's code into text (Node.js API docs split
    # by MarkdownTextSplitter: 27,549 lines of 188,927 read otherwise than in the whole file,
    # 3,458 now; FINDINGS 17)
    prose = (
        "The `process.env` property returns an object containing the user\n"
        "environment. See environ(7)."
    )
    chunk = f"  console.log(x);\n}}\n```\n\n{prose}\n\n```js\nconst env = process.env;\n```\n"
    assert kinds(chunk) == [
        (CODE, "console.log(x);"),
        (CODE, "}"),
        (TEXT, prose),
        (CODE, "const env = process.env;"),
    ]
    # bare fences only: the reading whose blocks hold code and whose text holds prose
    bare = (
        "    make check\n    make install\n```\n\n"
        "To see the configuration options, run the configure script with help.\n\n"
        "```\n./configure --help\n```"
    )
    assert [k for k, _ in kinds(bare)] == [CODE, CODE, TEXT, CODE]
    # a whole file (it starts outside a block): shell commands in a block are not prose
    whole = (
        "Install the build tools on Ubuntu first:\n"
        "```\n  apt install automake autoconf libtool gcc make\n```\n\n"
        "Then build the library as usual.\n"
    )
    assert [k for k, _ in kinds(whole)] == [TEXT, CODE, TEXT]
    # a reStructuredText title's ~~~ underline is not a fence
    rst = "Usage\n~~~~~\n\nCall the function with a path and it returns the contents.\n"
    assert kinds(rst) == [(HEADING, "Usage"), (TEXT, rst.split("\n")[3])]


def test_html_comments_in_markdown_are_markup() -> None:
    # Node.js API docs carry "<!-- YAML ... -->" history blocks above every entry: their lines
    # were items and code lines that competed for the budget ("-->" was kept)
    body = "Returns an object containing the user environment."
    doc = (
        "<!-- YAML\nadded: v0.1.27\nchanges:\n  - version: v11.14.0\n-->\n\n"
        f"{body}\n\n<!-- eslint-skip -->\n"
    )
    assert kinds(doc) == [(TEXT, body)]
    # a chunk cut inside the comment: the lines above its lone "-->" are the comment's
    cut = f"  - version: v11.14.0\n    pr-url: https://github.com/nodejs/node/pull/26544\n-->\n\n{body}"
    assert kinds(cut) == [(TEXT, body)]
    # an arrow in prose is not a comment's end
    arrow = "Open Settings --> Privacy and turn the option off."
    assert kinds(arrow) == [(TEXT, arrow)]


def test_short_lines_without_bullets_are_not_headings_nor_joined() -> None:
    doc = "Flour\nSugar\nEggs\n"
    assert kinds(doc) == [(TEXT, "Flour"), (TEXT, "Sugar"), (TEXT, "Eggs")]
    assert read_layout(doc).title == -1
    address = "Jane Doe\n12 High Street\nLondon\n"
    assert [k for k, _ in kinds(address)] == [TEXT, TEXT, TEXT]


def test_a_chunks_first_line_is_its_title_in_sentence_case_or_above_a_cut_sentence() -> None:
    """Retrievers' ``"Title\nBody"`` chunks: Wikipedia titles are mostly sentence case, and a
    character splitter's chunk often starts mid-sentence."""
    body = "The Swedish constitution of 1974 allows the Prime Minister to appoint a deputy."
    for doc in (
        "Swedish governmental line of succession\n" + body,
        "Swedish governmental line of succession\n" + textwrap.fill(body * 3, 64),
        "Henry Moseley\nhim), and he was awarded a King's scholarship to attend Eton College.",
    ):
        lay = read_layout(doc)
        assert lay.blocks[0].kind == HEADING, doc
        assert lay.title_text(doc) == doc.split("\n", 1)[0]
        assert as_read(Document(doc), lay).title == doc.split("\n", 1)[0]
    # a short clause without its period, or a line ending in a comma, stays text
    for doc in (
        "The launch code is alpha\nbravo charlie is the backup team.",
        "The launch code is alpha\n\nBravo charlie is the backup team.",
        "Dear John,\nthank you for the letter you sent me last week about the prize.",
        "We met in Paris\nand talked about the prize money for a long time after that.",
    ):
        assert read_layout(doc).blocks[0].kind == TEXT, doc


def test_turns_and_fields_are_items_not_headings() -> None:
    doc = "PhD F: Yeah, I think so.\nProfessor B: We should start with the budget then."
    assert [k for k, _ in kinds(doc)] == [ITEM, ITEM]
    assert read_layout(doc).title == -1


def test_a_title_with_a_colon_is_a_title_when_the_next_line_restates_it() -> None:
    """Wikipedia titles like "My Little Pony: The Movie (2017 film)" read as a ``Key: value``
    field, unless the next line begins with them, as an article's first sentence does."""
    for title, body in (
        ("My Little Pony: The Movie (2017 film)", "My Little Pony: The Movie is a 2017 film."),
        ("Atlantis: The Lost Empire", "Atlantis: The Lost Empire is a 2001 animated film."),
    ):
        doc = f"{title}\n{body}"
        lay = read_layout(doc)
        assert lay.blocks[0].kind == HEADING and lay.title_text(doc) == title
    # a field the next line does not restate stays a field, and so does a turn
    for doc in (
        "Director: Tim Metcalfe\nKiller is a 1995 film written by Tim Metcalfe.",
        "PhD F: Yeah\nPhD F: Yeah, I think so.",
    ):
        assert read_layout(doc).title == -1, doc


def test_a_line_set_apart_inside_a_document_heads_the_paragraph_below() -> None:
    """Sentence-case section heads between blank lines (PDF and web text): context for the
    paragraph under them; a line that leads into what follows, a short sentence and a sign-off
    stay text."""
    body = "Over 1,000 species of plants live in the lake, most of them found nowhere else.\n"
    top = "Lake Baikal\n\nLake Baikal is a rift lake in Russia and the deepest in the world.\n\n"
    for head in ("Endemic plant species", "How to get there", "Travel by public transport"):
        doc = f"{top}{head}\n\n{body}"
        blocks = read_layout(doc).blocks
        at = [doc[b.start : b.end] for b in blocks].index(head)
        assert blocks[at].kind == HEADING, head
        assert blocks[at + 1].heading == at, head
    for line in (
        "Please submit bug reports at",
        "To cite the package in publications use",
        "Thanks, and see you soon",
        "The launch code is alpha",
        "'anaconda foo bar'",
    ):
        doc = f"{top}{line}\n\n{body}"
        texts = {doc[b.start : b.end]: b.kind for b in read_layout(doc).blocks}
        assert texts.get(line, TEXT) != HEADING, line
    signoff = f"{top}Thanks for reading\n\nBest regards\nAnna\n"
    assert [b.kind for b in read_layout(signoff).blocks].count(HEADING) == 1


def test_a_term_set_apart_above_an_indented_paragraph_heads_it() -> None:
    """An HTML definition list as text (a term, a blank line, the indented definition): the term
    is the title of its definition, in lower case too, and not a one-word paragraph; a sentence
    that leads into an indented address, or a lower-case line of code, stays text."""
    defn = "\t    The shell of user sync is /bin/sync. Thus, if its password is set to something\n"
    defn += "\t    easy to guess, anyone can shut down the system.\n"
    top = "The users and groups of a Debian system are described below, one by one.\n\n"
    for term in ("sync", "tests/testbbox.c", "Mail Transfer Agent"):
        for doc in (f"{top}{term}\n\n{defn}", f"{term}\n\n{defn}"):
            blocks = read_layout(doc).blocks
            at = [doc[b.start : b.end] for b in blocks].index(term)
            assert blocks[at].kind == HEADING, (term, doc[:20])
            assert blocks[at + 1].heading == at and blocks[at + 1].kind == TEXT, term
    addr = "\t    http://www.apache.org/licenses/LICENSE-2.0 is where the licence is kept now\n"
    for line in ("You may obtain a copy of the License at", 'if [ "$PS1" ]; then', "mail server"):
        doc = f"{top}{line}\n\n{addr}"
        texts = {doc[b.start : b.end]: b.kind for b in read_layout(doc).blocks}
        assert texts.get(line, TEXT) != HEADING, line
    flush = f"{top}sync\n\nThe shell of user sync is /bin/sync, a flush paragraph.\n"
    assert HEADING not in {b.kind for b in read_layout(flush).blocks}


def test_a_pdf_table_of_contents_is_neither_content_nor_context() -> None:
    """Dot leaders to a page number (a manual's contents or index, as PDF text has them) lead to a
    page, not to content; a reStructuredText underline of dots and an ellipsis stay what they
    were."""
    doc = (
        "Table of Contents\n2.1 ASN.1 syntax. . . . . . . . . . . . . . . . . 2\n"
        "2.2 Naming . . . . . . . . . . . . . . . . . . . 3\nasn1_create_element.......... 10\n"
        "Preface . . . . . . . . . . . . iv\nThe library parses ASN.1 definitions and so on...\n"
    )
    texts = [doc[b.start : b.end] for b in read_layout(doc).blocks]
    assert not any(". . ." in t or "....." in t for t in texts), texts
    assert "The library parses ASN.1 definitions and so on..." in texts
    rst = "Intro text here.\n\nRecognised ANSI Sequences\n.........................\n\nText.\n"
    blocks = read_layout(rst).blocks
    assert [rst[b.start : b.end] for b in blocks if b.kind == HEADING] == [
        "Recognised ANSI Sequences"
    ]


def test_a_numbered_section_head_above_an_identifier_in_lower_case() -> None:
    """PDF text of a manual: "3.2 Invoking asn1Coding" over "asn1Coding generates ..." is a
    section head though the next line starts in lower case; a numbered line that leads on
    ("3.2 of this manual and") stays text."""
    body = "asn1Coding generates a DER encoding from a file with ASN.1 definitions and another\n"
    body += "file with assignments, as the next example shows in full detail for the reader.\n"
    doc = f"Report bugs to the mailing list of the project.\n3.2 Invoking asn1Coding\n{body}"
    blocks = read_layout(doc).blocks
    assert (doc[blocks[1].start : blocks[1].end], blocks[1].kind) == (
        "3.2 Invoking asn1Coding",
        HEADING,
    )
    assert blocks[2].heading == 1
    doc = f"It is described in the chapter.\n3.2 of this manual and\n{body}"
    assert HEADING not in {b.kind for b in read_layout(doc).blocks}


WRAPPED_80 = textwrap.fill(
    "The error classes of the runtime are described below, one by one, with the codes they "
    "carry and the conditions under which the runtime raises them, so that a program can tell "
    "one failure from another and handle each of them in the way that it needs to.",
    80,
)


def test_a_line_that_ends_in_a_word_leading_on_goes_on() -> None:
    """A line ending in "see", "the" or "at" goes on into the next, however short it is and
    whatever the next starts with (Markdown puts a link on its own line); "Appendix A" ends in a
    label, not in the article."""
    for a, b in (
        ("Indicates the failure of an assertion. For details, see", "[`AssertionError`][]."),
        ("In the event of a security incident, please refer to the", "[Response Plan](plan.md)."),
        ("This product includes software developed at", "The Apache Software Foundation."),
    ):
        doc = f"{WRAPPED_80}\n\n{a}\n{b}\n"
        assert doc[read_layout(doc).blocks[-1].start :] == f"{a}\n{b}\n", a
    doc = f"{WRAPPED_80}\n\nAppendix A\nIntroduction to the library, in one short paragraph.\n"
    assert len(read_layout(doc).blocks) == 3


def test_the_wrap_width_is_read_from_prose_not_from_code_lines() -> None:
    """A page of a manual's PDF text with more short code lines than wrapped prose: the width is
    the prose's (the lines a line in lower case goes on from), so a short line above a capital
    is a deliberate break (one author per line), not a wrap."""
    prose = (
        "Running the command below will generate an assign.out file, containing the DER en-\n"
        "coding of the structure that the file of definitions describes, and if the root is a\n"
        "choice, the file of assignments may name its element, as in the example below, using\n"
        "the types defined in the file that was given first.\n"
    )
    code = "".join(f"other.y{k} {k}\nr {k}\n" for k in range(12))
    authors = "Fabio Fiorina <fiorina@gnu.org>\nSimon Josefsson <simon@gnu.org>\n"
    doc = prose + code + authors
    assert wrap_width(read_lines(doc), doc) >= 80
    texts = [doc[b.start : b.end] for b in read_layout(doc).blocks]
    assert "Fabio Fiorina <fiorina@gnu.org>" in texts and "Simon Josefsson <simon@gnu.org>" in texts


def test_numbered_section_heads_and_wrapped_numbers() -> None:
    doc = "2.1 Results\nThe prize was awarded to Röntgen in the year\n1901. It was the first one.\n"
    lay = read_layout(doc)
    assert lay.blocks[0].kind == HEADING and lay.blocks[0].level == 3
    assert [flat(doc[p.start : p.end]) for p in segment(doc)] == [
        "The prize was awarded to Röntgen in the year 1901.",
        "It was the first one.",
    ]


def test_repeated_page_headers_and_page_numbers_are_boilerplate() -> None:
    para = "This paragraph says something different each time, number {}.\n"
    doc = ""
    for k in range(4):
        doc += "ACME Corp Annual Report\n" + para.format(k) * 3 + f"Page {k + 1}\n\f"
    texts = [doc[b.start : b.end] for b in read_layout(doc).blocks]
    assert not any("ACME" in t or t.startswith("Page") for t in texts)
    assert sum("number" in t for t in texts) >= 4


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "# Heading",
                "Title Line",
                "A sentence that ends. And another one",
                "continues here in lower case and then",
                "com-",
                "pression of things.",
                "- a bullet item",
                "1. a numbered item",
                "| a | b |",
                "```",
                "x = f(1)",
                "",
                "   indented text",
                "Key: value",
                "=====",
                "ÉLAN 👩‍👩‍👧 ไทย",
                "       -k --keep",
                "              Keep (don't delete) input files.",
                "~~~~~~~~~~",
                "^^^^",
                ".. code:: python",
                "    # a comment",
                "when using the ",
                " search through the",
                ". This lint detects",
            ]
        ),
        max_size=25,
    ),
    st.sampled_from(["\n", "\r\n"]),
)
def test_blocks_are_exact_ordered_and_cover_every_content_character(
    lines: list[str], newline: str
) -> None:
    doc = newline.join(lines)
    lay = read_layout(doc)
    last = 0
    for b in lay.blocks:
        text = doc[b.start : b.end]
        assert text and text == text.strip()
        assert b.start >= last
        last = b.end
    pieces = segment(doc, max_tokens=8)
    for p in pieces:
        assert doc[p.start : p.end] == doc[p.start : p.end].strip() != ""
    # every non-space character of a content block is in some piece (clause marks at a cut aside)
    covered = {i for p in pieces for i in range(p.start, p.end)}
    for b in lay.content():
        for i in range(b.start, b.end):
            assert doc[i].isspace() or doc[i] in ",;:-–—" or i in covered


def test_layout_is_linear() -> None:
    from semtoken_rag.pipeline import layout

    unit = (
        "Heading\n" + textwrap.fill(BODY, 70) + "\n- item one\n- item two\n\n"
        "  -k --keep\n  -K --keep-all\n        Keep input files.\nusing the \ncode\n to do it.\n\n"
    )

    def run(n: int) -> None:
        layout._memo_layout.cache_clear()  # time the reading, not the memo
        read_layout(unit * n)

    slope = exponent(run, 200, 1600)
    assert slope < 1.3, f"read_layout grows as n^{slope:.2f}"


MAN_OPTIONS = """OPTIONS
       -f --force
              Force compression or decompression even if the file has multiple
              links or the corresponding file already exists.

       -k --keep
              Keep (don't delete) input files during compression or decompres\u2010
              sion.

       -L [bind_address:]port:host:hostport
       -L local_socket:remote_socket
              Specifies that connections to the given TCP port on the local
              host are to be forwarded to the given host and port.
"""


def test_a_definition_term_is_read_with_its_indented_definition() -> None:
    """Man pages' options and reStructuredText definition lists: the term ("-k --keep") and
    its definition are one item, so the term is kept with what it means; stacked terms over one
    definition are one item too."""
    got = [(k, flat(t)) for k, t in kinds(MAN_OPTIONS)]
    assert got == [
        (HEADING, "OPTIONS"),
        (
            ITEM,
            "-f --force Force compression or decompression even if the file has multiple "
            "links or the corresponding file already exists.",
        ),
        (
            ITEM,
            "-k --keep Keep (don't delete) input files during compression or decompres\u2010 sion.",
        ),
        (
            ITEM,
            "-L [bind_address:]port:host:hostport -L local_socket:remote_socket Specifies "
            "that connections to the given TCP port on the local host are to be forwarded to the "
            "given host and port.",
        ),
    ]
    keep = MAN_OPTIONS.index("-k --keep")
    assert any(
        p.start == keep and "Keep (don't" in MAN_OPTIONS[p.start : p.end]
        for p in segment(MAN_OPTIONS)
    )
    # a paragraph's last line above an indented example is not a term
    doc = "To list the files, run the command\nbelow in a shell\n    ls -l /tmp\nand read it."
    assert kinds(doc)[0] == (TEXT, "To list the files, run the command\nbelow in a shell")


def test_restructuredtext_titles_directives_and_indented_code() -> None:
    doc = (
        "Pandas Integration\n~~~~~~~~~~~~~~~~~~\n\nDue to popular demand we support pandas.\n\n"
        ".. code:: python\n\n    import pandas as pd\n    # Register progress_apply\n"
        "    tqdm.pandas()\n\n.. _install:\n\nThe end.\n"
    )
    assert kinds(doc) == [
        (HEADING, "Pandas Integration"),
        (TEXT, "Due to popular demand we support pandas."),
        (CODE, "import pandas as pd"),
        (CODE, "# Register progress_apply"),
        (CODE, "tqdm.pandas()"),
        (TEXT, "The end."),
    ]
    # a tilde fence under a short line is still a fence
    assert [k for k, _ in kinds("Example\n~~~\nx = compute(1)\n~~~\n")] == [TEXT, CODE]


def test_html_to_text_inline_elements_stay_in_their_sentence() -> None:
    """BeautifulSoup's ``get_text("\\n")`` puts each inline element (a link, ``<code>``) on a line
    of its own: the sentence goes on across those breaks."""
    doc = (
        "Lints\n\nNote that, except for \nmissing_docs\n, these lints are only available when "
        "running \nrustdoc\n.\n\nbroken_intra_doc_links\n. This lint detects when an \n"
        "intra-doc link\n fails to be resolved.\n"
    )
    assert [flat(t) for _, t in kinds(doc)] == [
        "Lints",
        "Note that, except for missing_docs , these lints are only available when running "
        "rustdoc .",
        "broken_intra_doc_links . This lint detects when an intra-doc link fails to be resolved.",
    ]
    assert [flat(doc[p.start : p.end]) for p in segment(doc)][-1] == (
        "This lint detects when an intra-doc link fails to be resolved."
    )
    # a space after a sentence's end is not an inline element's break
    two = "It ends here. \nAnother one"
    first, second = read_lines(two)
    assert not inline_break(two, first, second)


def test_mediawiki_section_headings() -> None:
    doc = "== Early life ==\nHe was born in Lennep.\n\n=== Education ===\n\nHe studied in Zurich."
    lay = read_layout(doc)
    assert [(b.kind, b.level, doc[b.start : b.end]) for b in lay.blocks] == [
        (HEADING, 2, "Early life"),
        (TEXT, 0, "He was born in Lennep."),
        (HEADING, 3, "Education"),
        (TEXT, 0, "He studied in Zurich."),
    ]
    assert contexts(Document(doc), lay, [lay.blocks[3].start]) == ["Early life Education"]
    # a wrapped line that happens to open and close with "=" is text
    line = "= countries eliminated in the qualifying rounds; black =\ncountries that did not enter"
    assert read_layout(line).blocks[0].kind == TEXT


def test_pdf_section_numbers_page_breaks_and_clauses_across_lines() -> None:
    """What pypdf gives for a specification's PDF: numbered heads with no blank lines between
    them, a sentence-case subsection after a page's number and running header, and a clause
    that goes on after a comma on a line the font left short."""
    body = textwrap.fill(
        "This is version 0.21 of the Shared MIME-info Database specification, last updated 2 "
        "October 2018. Many programs and desktops use the MIME system to represent the types of "
        "files. Frequently, it is necessary to work out the correct MIME type for a file. This is "
        "generally done by examining the file's name or contents, and looking up the correct "
        "MIME type in a database.",
        80,
    )
    page = "Shared MIME-info Database\n"
    doc = (
        page + "Thomas Leonard\n1. Introduction\n1.1. Version\n" + body + "\n"
        "It may be used to store static information about each type of file.\n1\n"
        + page
        + "1.3. Language used in this specification\n"
        'The key words "MUST", "MUST NOT", "REQUIRED", "SHALL", "SHALL NOT", "SHOULD",\n'
        '"SHOULD NOT", "RECOMMENDED", "MAY", and "OPTIONAL" in this document are to be\n'
        "interpreted as described in RFC 2119.\n" + body + "\n2\n" + page
    )
    got = [(k, flat(t)) for k, t in kinds(doc)]
    assert (HEADING, "1. Introduction") in got
    assert (HEADING, "1.1. Version") in got
    assert (HEADING, "1.3. Language used in this specification") in got
    assert (TEXT, "Shared MIME-info Database") not in got  # the running header
    assert any(t.startswith('The key words "MUST"') and t.endswith("RFC 2119.") for _, t in got)
    # sentence case is enough for a multi-level number only: "2. the bus leaves" stays text
    late = "Notes\n\n2. the bus leaves at noon from the main square\nWe walked there."
    assert kinds(late)[1][0] != HEADING


def test_a_page_break_inside_a_paragraph_is_left_out_of_what_is_shown() -> None:
    """A PDF chunk holds one page break: the paragraph goes on over the page's number and the
    next page's running header. Spans keep their exact offsets; what a reader is given (and
    pays for) is the paragraph without them."""
    from semtoken_rag.pipeline.layout import shown

    para = textwrap.fill(
        "Each application that wishes to contribute to the MIME database will install a single "
        "XML file. Information found in a",
        80,
    )
    doc = (
        "Other text of the page that comes first and ends here.\n" * 4
        + para
        + "\n2\nShared MIME-info Database\n"
        + "directory is added to the information found in previous directories, except when\n"
        "glob-deleteall is used.\n"
    )
    lay = read_layout(doc)
    assert len(lay.skipped) == 2  # the number and the header
    a = doc.index("Information found")
    b = doc.index("is used.") + len("is used.")
    assert any(blk.start <= a and b <= blk.end for blk in lay.blocks)  # one paragraph
    assert shown(doc, lay, a, b) == (
        "Information found in a directory is added to the information found in previous "
        "directories, except when glob-deleteall is used."
    )
    # a short line after a page number that a new paragraph follows is not a header
    other = doc.replace("directory is added", "Directory is added")
    assert len(read_layout(other).skipped) <= 1


def test_quoted_email_and_markdown_blockquotes_read_as_paragraphs(quoted_reply: str) -> None:
    """A reply's quoted text ("> " on every line) is a paragraph of its own, apart from the line
    that introduces it; what a reader is given leaves the marks out."""
    from semtoken_rag.pipeline.layout import shown

    doc = quoted_reply + ">\n> > Earlier: the rate is 95 euros per hour\n> > for all of March.\n"
    lay = read_layout(doc)
    got = [(b.kind, shown(doc, lay, b.start, b.end)) for b in lay.blocks]
    assert got[1] == (TEXT, "On Fri, Dec 4, 2026 at 10:12 AM Anna Berg <anna@example.com> wrote:")
    assert got[2] == (
        TEXT,
        "Could you confirm the hourly rate for the March project? We agreed on 95 euros last "
        "year but the contract says 90 euros, and the auditors want one number before the end "
        "of the quarter.",
    )
    assert got[3][1] == "Earlier: the rate is 95 euros per hour for all of March."
    pieces = segment(doc)
    assert all(doc[p.start : p.end].strip() == doc[p.start : p.end] for p in pieces)
    # a sentence that starts on a quoted line is given without its mark
    second = next(p for p in pieces if doc[p.start : p.end].endswith("for all of March."))
    assert shown(doc, lay, second.start, second.end) == (
        "Earlier: the rate is 95 euros per hour for all of March."
    )
    two = "> First sentence here.\n> Second sentence here.\n"
    lay2 = read_layout(two)
    assert [shown(two, lay2, p.start, p.end) for p in segment(two)] == [
        "First sentence here.",
        "Second sentence here.",
    ]
    # a quote's edge ends a block even after a trailing space (an inline element's break)
    spaced = quoted_reply.replace("wrote:\n", "wrote: \n")
    spaced = spaced.replace("the end of the quarter.\n", "the \nnew quarter, unquoted.\n")
    texts = [t for _, t in kinds(spaced)]
    assert texts[1].endswith("wrote:") and texts[2].startswith("Could you confirm")
    assert texts[2].endswith("before the") and texts[3] == "new quarter, unquoted."
    # a REPL prompt and a web page's ">>Read More" are not quotes
    assert kinds(">>> import os\n>>> os.getcwd()") == [
        (CODE, ">>> import os"),
        (CODE, ">>> os.getcwd()"),
    ]
    assert kinds("Read the story.\n>>Read More")[1] == (TEXT, ">>Read More")
