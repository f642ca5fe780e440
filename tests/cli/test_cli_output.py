"""What the command line shows (issue 26) and how it fails (issue 25, item 12): labelled output
for several files, ``source`` in JSON, a progress bar with a total, one line before the one-off
int8 export, no third-party bars, suggestions for mistyped flags and misplaced queries, CLI words
in CLI errors, one prefix, and exit 2 with one line when the encoder cannot load or a JSONL line
is nested too deeply."""

from __future__ import annotations

import io
import json
import re
import shutil
import sys
from pathlib import Path

import pytest

from semtoken_rag.cli import main
from semtoken_rag.cli.io import NOTHING_KEPT
from semtoken_rag.encoders import export
from semtoken_rag.testing import PARIS, XRAYS


@pytest.fixture
def paths(tmp_path: Path) -> dict[str, str]:
    texts = {
        "a": XRAYS,
        "b": PARIS,
        "paragraphs": "# Röntgen\n\nHe discovered X-rays in 1895.\n\nParis is the capital of "
        "France. The Eiffel Tower is tall.\n\nHe won the first Nobel Prize in Physics in 1901.",
    }
    out = {}
    for name, text in texts.items():
        (tmp_path / f"{name}.txt").write_text(text + "\n", encoding="utf-8")
        out[name] = str(tmp_path / f"{name}.txt")
    return out


def one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and "Traceback" not in err, err
    assert err.startswith("semtoken-rag: ") and not re.match(
        r"semtoken-rag:? (compress|warm|demo|bench):", err
    )
    return err


# --- several files ------------------------------------------------------------------------------


def test_several_files_are_labelled_and_a_file_with_nothing_kept_says_so(
    compressor, paths, capsys
) -> None:
    argv = ["compress", "--query", "Who discovered X-rays?", "--budget", "16", "-q"]
    assert main([*argv, paths["a"], paths["b"]], compressor=compressor) == 0
    out = capsys.readouterr().out
    assert out == (
        f"==> {paths['a']} <==\nWilhelm Röntgen discovered X-rays in 1895.\n\n"
        f"==> {paths['b']} <==\n{NOTHING_KEPT}\n"
    )
    assert main([*argv, paths["a"]], compressor=compressor) == 0  # one file: no label, as head
    assert capsys.readouterr().out == "Wilhelm Röntgen discovered X-rays in 1895.\n"


def test_a_blank_line_inside_a_document_is_never_a_boundary(compressor, paths, capsys) -> None:
    question = "Who discovered X-rays, and what prize did he win?"
    argv = ["compress", "--query", question, "--budget", "40", "-q"]
    assert main([*argv, paths["paragraphs"], paths["b"]], compressor=compressor) == 0
    out = capsys.readouterr().out
    blocks = re.split(r"^==> (.+) <==\n", out, flags=re.MULTILINE)[1:]
    names, texts = blocks[0::2], blocks[1::2]
    assert names == [paths["paragraphs"], paths["b"]]
    first = texts[0].rstrip("\n")
    assert "\n\n" in first  # a dropped paragraph inside the document: a blank line ...
    for piece in first.split("\n\n"):  # ... and every piece under the label is from that file
        assert piece in Path(paths["paragraphs"]).read_text(encoding="utf-8")


def test_json_carries_the_source_of_each_document_and_span(compressor, paths, capsys) -> None:
    argv = ["compress", "--query", "X-rays", "--budget", "30", "--json", "-q"]
    assert main([*argv, paths["a"], paths["b"]], compressor=compressor) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["sources"] == [paths["a"], paths["b"]]
    assert len(data["sources"]) == len(data["documents"])
    assert data["spans"] and all(
        s["source"] == data["sources"][s["doc_index"]] for s in data["spans"]
    )


# --- progress -----------------------------------------------------------------------------------


def test_one_line_before_the_one_off_int8_export(compressor, paths, tmp_path, monkeypatch, capsys):
    """The export (10-15 s of silence before) is announced on one stderr line; ``--quiet`` drops
    it. The export's torch step is replaced by a copy of the real export (the rest runs)."""
    compressor.encoder.load()
    built = compressor.encoder.folder
    assert built is not None

    def copy_build(model_dir: Path, out: Path, backend: str) -> None:
        for f in built.iterdir():
            if f.name != export.MANIFEST:
                shutil.copyfile(f, out / f.name)

    monkeypatch.setattr(export, "_build", copy_build)
    for quiet, lines in ((False, 2), (True, 0)):
        monkeypatch.setenv(export.ENV_CACHE_DIR, str(tmp_path / f"exports-{quiet}"))
        argv = ["compress", "--budget", "10", *(["-q"] if quiet else []), paths["a"]]
        assert main(argv) == 0
        err = capsys.readouterr().err
        assert err.count("\n") == lines, err
        if lines:
            first = err.splitlines()[0]
            assert first.startswith("semtoken-rag: exporting st:all-MiniLM-L6-v2 to openvino int8")
            assert "once (~10 s)" in first


@pytest.mark.slow
def test_loading_the_torch_model_shows_no_third_party_bar(capfd) -> None:
    """Before: transformers printed ``Loading weights: 100%|...| 103/103`` on stderr."""
    from transformers.utils import logging as hf_logging

    from semtoken_rag.encoders import TransformerEncoder

    hf_logging.enable_progress_bar()
    TransformerEncoder(device="cpu").load()
    assert "Loading weights" not in capfd.readouterr().err
    assert hf_logging.is_progress_bar_enabled()  # the user's setting is back


# --- messages -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["compress", "--querry", "x", "--budget", "5", "{a}"], "did you mean --query"),
        (["compress", "-q", "x", "--budget", "5", "{a}"], "-q is --quiet; did you mean --query?"),
        (["compress", "How do I extract?", "{a}"], 'did you mean --query "How do I extract?"?'),
        (["compres", "{a}"], "did you mean 'compress'?"),
        (["compress", "--backend", "torh", "{a}"], "did you mean 'torch'?"),
        (["compress", "--cache", "/proc/semtoken-no", "{a}"], "or --read-only to only read it"),
        (["compress", "--read-only", "{a}"], "--read-only needs --cache"),
    ],
)
def test_messages_suggest_what_was_meant_in_cli_words(compressor, paths, capsys, argv, message):
    assert main([a.format(**paths) for a in argv], compressor=compressor) == 2
    err = one_error_line(capsys)
    assert message in err and "read_only=True" not in err


def test_a_cache_of_another_backend_names_the_flag_to_pass(compressor, paths, tmp_path, capsys):
    cache = str(tmp_path / "fp")
    assert main(["warm", "--cache", cache, "-q", paths["a"]], compressor=compressor) == 0
    capsys.readouterr()
    for extra in ([], ["--read-only"]):  # refused before any model is loaded or output written
        argv = ["compress", "--backend", "torch", "--cache", cache, *extra, "--budget", "9"]
        assert main([*argv, paths["a"]]) == 2
        err = one_error_line(capsys)
        assert "pass --backend openvino to use this cache" in err


def test_an_encoder_that_cannot_load_exits_2_with_one_line(paths, tmp_path, monkeypatch, capsys):
    """Issue 25, item 12: openvino not importable, and no writable place for the export."""
    monkeypatch.setitem(sys.modules, "openvino", None)
    assert main(["compress", "--budget", "5", paths["a"]]) == 2
    err = one_error_line(capsys)
    assert "--backend openvino needs openvino: pip install 'semtoken-rag[openvino]'" in err
    monkeypatch.undo()
    monkeypatch.setenv(export.ENV_CACHE_DIR, str(Path(paths["a"]) / "exports"))  # under a file
    assert main(["compress", "--budget", "5", paths["a"]]) == 2
    assert export.ENV_CACHE_DIR in one_error_line(capsys)


def test_a_jsonl_line_nested_too_deeply_exits_2_with_one_line(
    compressor, tmp_path, monkeypatch, capsys
) -> None:
    line = '{"query": "q", "documents": ' + "[" * 50_000 + "]" * 50_000 + "}\n"
    deep = tmp_path / "deep.jsonl"
    deep.write_text(line, encoding="utf-8")
    assert main(["compress", "--budget", "5", str(deep)], compressor=compressor) == 2
    assert f"{deep}:1: invalid JSON (nested too deeply" in one_error_line(capsys)
    monkeypatch.setattr(sys, "stdin", io.StringIO(line))
    assert main(["compress", "--budget", "5", "-"], compressor=compressor) == 2
    assert "stdin:1: invalid JSON (nested too deeply" in one_error_line(capsys)
