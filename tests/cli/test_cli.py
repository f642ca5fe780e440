"""The command line, in process with the shared model, plus one run of the installed entry point."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from semtoken_rag import SemTokenCompressor, __version__
from semtoken_rag.cli import main
from semtoken_rag.testing import PARIS, XRAYS, bag_of_words


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    paths = {
        "a": tmp_path / "a.txt",
        "b": tmp_path / "b.txt",
        "batch": tmp_path / "batch.jsonl",
        "bad": tmp_path / "bad.jsonl",
        "shape": tmp_path / "shape.jsonl",
        "empty": tmp_path / "empty.txt",
        "latin1": tmp_path / "latin1.txt",
    }
    paths["a"].write_text(XRAYS + "\n", encoding="utf-8")
    paths["b"].write_text(PARIS + "\n", encoding="utf-8")
    records = [
        {"id": "q1", "query": "capital of France?", "documents": [PARIS, {"text": XRAYS}]},
        {"query": "Who discovered X-rays?", "documents": [[XRAYS, {"title": "Röntgen"}]]},
    ]
    paths["batch"].write_text("\n".join(json.dumps(r) for r in records) + "\n", encoding="utf-8")
    paths["bad"].write_text('{"query": "q", "documents": [\n', encoding="utf-8")
    paths["shape"].write_text('{"query": "q", "documents": "not a list"}\n', encoding="utf-8")
    paths["empty"].write_text("  \n", encoding="utf-8")
    paths["latin1"].write_bytes("café".encode("latin-1"))
    return paths


def test_compress_plain_text(compressor, files, capsys) -> None:
    argv = ["compress", "--query", "Who discovered X-rays?", "--budget", "16"]
    code = main([*argv, str(files["a"]), str(files["b"])], compressor=compressor)
    out, err = capsys.readouterr()
    assert code == 0
    assert "Röntgen discovered X-rays in 1895" in out and "Eiffel" not in out
    assert err.count("\n") == 1 and "kept" in err  # one stats line, no progress bar (not a TTY)


def test_compress_json(compressor, files, capsys) -> None:
    argv = ["compress", "--query", "X-rays", "--ratio", "0.5", "--json", "--quiet", str(files["a"])]
    assert main(argv, compressor=compressor) == 0
    out, err = capsys.readouterr()
    data = json.loads(out)
    assert err == ""
    assert data["kept_tokens"] <= data["budget"] and data["original_tokens"] > data["kept_tokens"]
    span = data["spans"][0]
    assert XRAYS[span["start"] : span["end"]] == span["text"]


def test_compress_jsonl_batch(compressor, files, capsys) -> None:
    assert main(["compress", "--budget", "40", str(files["batch"])], compressor=compressor) == 0
    out, err = capsys.readouterr()
    rows = [json.loads(line) for line in out.splitlines()]
    kept, original = sum(r["kept_tokens"] for r in rows), sum(r["original_tokens"] for r in rows)
    assert err.count("\n") == 1  # the batch ends with one summary line
    assert err.startswith(f"semtoken-rag: 2 records: kept {kept} of {original} tokens")
    assert [r.get("id") for r in rows] == ["q1", None]
    assert rows[0]["query"] == "capital of France?" and "Paris" in rows[0]["documents"][0]
    assert rows[1]["documents"] == [XRAYS]


def test_compress_stdin(compressor, files, capsys, monkeypatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(XRAYS))
    assert (
        main(["compress", "--query", "X-rays", "--budget", "12", "-q", "-"], compressor=compressor)
        == 0
    )
    assert "X-rays" in capsys.readouterr().out
    monkeypatch.setattr(sys, "stdin", io.StringIO(files["batch"].read_text(encoding="utf-8")))
    assert main(["compress", "--budget", "40", "-"], compressor=compressor) == 0
    assert len(capsys.readouterr().out.splitlines()) == 2


def test_demo(compressor, capsys) -> None:
    assert main(["demo", "--quiet"], compressor=compressor) == 0
    out = capsys.readouterr().out
    assert "who got the first nobel prize in physics" in out
    assert "answer kept: yes" in out and "tokens:" in out and "encode" in out


def test_warm_then_compress_hits_the_cache(compressor, files, tmp_path, capsys) -> None:
    cache = tmp_path / "fp"
    args = ["warm", "--cache", str(cache), "-q", str(files["a"]), str(files["b"])]
    assert main(args, compressor=compressor) == 0
    assert "2 documents (2 new, 0 cached)" in capsys.readouterr().out
    assert main(args, compressor=compressor) == 0
    assert "(0 new, 2 cached)" in capsys.readouterr().out
    assert (cache).exists()


def test_version_and_help(capsys) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"semtoken-rag {__version__}"
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "examples:" in out and "semtoken-rag demo" in out
    assert main(["compress", "--help"]) == 0
    assert "--budget" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "a command is required"),
        (["frobnicate"], "invalid choice"),
        (["compress", "--query", "q"], "required: FILE"),
        (["compress", "--budget", "x", "{a}"], "invalid int value"),
        (["compress", "--budget", "5", "--ratio", "0.5", "{a}"], "not allowed with"),
        (["compress", "--budget", "0", "{a}"], "--budget: must be an int > 0"),
        (["compress", "--ratio", "1.5", "{a}"], "--ratio: must be in (0, 1]"),
        (["compress", "--read-only", "{a}"], "--read-only needs --cache"),
        (["compress", "--read-only", "--cache", "{dir}/none", "{a}"], "--cache"),
        (["compress", "--format", "jsonl", "{a}"], "invalid JSON"),
        (["compress", "{missing}"], "cannot read"),
        (["compress", "{dir}"], "cannot read"),
        (["compress", "{latin1}"], "not UTF-8"),
        (["compress", "{bad}"], "invalid JSON"),
        (["compress", "{shape}"], '"documents": [...]'),
        (["compress", "{empty}"], "empty input"),
        (["compress", "--cache", "/proc/semtoken-no", "{a}"], "--cache"),
        (["warm", "{a}"], "--cache"),
        (["warm", "--cache", "{dir}/fp", "{empty}"], "empty input"),
    ],
)
def test_errors_exit_2_with_one_line(compressor, files, tmp_path, capsys, argv, message) -> None:
    paths = {k: str(v) for k, v in files.items()} | {
        "missing": str(tmp_path / "nope.txt"),
        "dir": str(tmp_path),
    }
    code = main([a.format(**paths) for a in argv], compressor=compressor)
    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("semtoken-rag: "), err
    assert not re.match(r"semtoken-rag:? (compress|warm|demo|bench):", err), err  # one prefix
    assert message in err
    assert "Traceback" not in err


def test_bench_outside_a_checkout(monkeypatch, capsys) -> None:
    import semtoken_rag.cli.commands as cli

    monkeypatch.setattr(cli, "_checkout_root", lambda: None)
    assert main(["bench", "--suite", "quick"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "source checkout" in err


def test_bench_forwards_to_the_harness_in_a_subprocess(capfd) -> None:
    # other test modules import benchmarks at collection: set them aside for this check
    saved = {k: sys.modules.pop(k) for k in list(sys.modules) if k.split(".")[0] == "benchmarks"}
    try:
        assert main(["bench", "--help"]) == 0
        assert "--suite" in capfd.readouterr().out
        assert "benchmarks" not in sys.modules  # run as a subprocess: nothing imported here
    finally:
        sys.modules.update(saved)


def test_entry_point_runs() -> None:
    exe = Path(sys.executable).with_name("semtoken-rag")
    if not exe.exists():
        pytest.skip("the semtoken-rag script is not installed next to this interpreter")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    done = subprocess.run(
        [str(exe), "--version"], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 0 and done.stdout.strip() == f"semtoken-rag {__version__}"
    done = subprocess.run(
        [str(exe), "compress", "/nonexistent/file.txt"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "Traceback" not in done.stderr


def test_compressor_param_is_not_modified(compressor: SemTokenCompressor, files, tmp_path) -> None:
    cache_before = compressor.cache
    main(["compress", "-q", "--cache", str(tmp_path / "c"), str(files["a"])], compressor=compressor)
    assert compressor.cache is cache_before


# --- arguments are checked before any model is loaded -----------------------------------------


@pytest.fixture
def no_model(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Make loading the real model fail loudly; returns the list of load attempts."""
    from semtoken_rag.encoders import TransformerEncoder
    from semtoken_rag.encoders.runtime import OnnxEncoder, OpenVINOEncoder, RuntimeEncoder

    calls: list[str] = []

    def load(self: TransformerEncoder) -> None:
        calls.append(self.identity)
        raise AssertionError("the model loader was called")

    for backend in (TransformerEncoder, RuntimeEncoder, OnnxEncoder, OpenVINOEncoder):
        monkeypatch.setattr(backend, "load", load)  # each backend's own loader
    return calls


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["compress", "--budget", "0"], "--budget: must be an int > 0, got 0"),
        (["compress", "--budget", "-3"], "--budget: must be an int > 0, got -3"),
        (["compress", "--budget", "nan"], "--budget: invalid int value: 'nan'"),
        (["compress", "--ratio", "0"], "--ratio: must be in (0, 1], got 0"),
        (["compress", "--ratio", "2"], "--ratio: must be in (0, 1], got 2"),
        (["compress", "--ratio", "nan"], "--ratio: must be in (0, 1], got nan"),
        (["compress", "--ratio", "inf"], "--ratio: must be in (0, 1], got inf"),
        (["compress", "--format", "xml"], "--format: invalid choice: 'xml'"),
        (["demo", "--budget", "0"], "--budget: must be an int > 0"),
        (["warm", "--cache", "c", "--format", "csv"], "--format: invalid choice"),
        (["compress", "--backend", "cuda"], "--backend: invalid choice: 'cuda'"),
    ],
)
def test_bad_arguments_exit_2_without_loading_the_model(
    files, capsys, no_model, argv, message
) -> None:
    tail = [] if argv[0] == "demo" else [str(files["a"])]
    assert main([*argv, *tail]) == 2  # no compressor given: main would build and load one
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
    assert no_model == []


def test_the_loader_guard_is_on_the_path(files, no_model) -> None:
    """Control for the test above: valid arguments do reach the model loader."""
    with pytest.raises(AssertionError, match="model loader"):
        main(["compress", "--budget", "5", "-q", str(files["a"])])
    assert len(no_model) == 1 and no_model[0].startswith("st:all-MiniLM-L6-v2")


def test_backend_flag_picks_the_encoder_backend(files, no_model) -> None:
    with pytest.raises(AssertionError, match="model loader"):
        main(["compress", "--backend", "torch", "--budget", "5", "-q", str(files["a"])])
    with pytest.raises(AssertionError, match="model loader"):
        main(["compress", "--backend", "onnx", "--budget", "5", "-q", str(files["a"])])
    assert no_model == ["st:all-MiniLM-L6-v2", "st:all-MiniLM-L6-v2+onnx-int8"]


# --- formats ------------------------------------------------------------------------------------


def test_stdin_text_starting_with_a_brace_is_text(compressor, capsys, monkeypatch) -> None:
    text = "{draft} " + XRAYS
    monkeypatch.setattr(sys, "stdin", io.StringIO(text))
    assert main(["compress", "--ratio", "1", "-q", "-"], compressor=compressor) == 0
    assert capsys.readouterr().out == text + "\n"
    monkeypatch.setattr(sys, "stdin", io.StringIO('{"query": "q"}\n'))  # JSON, not a record
    assert main(["compress", "--ratio", "1", "-q", "-"], compressor=compressor) == 0
    assert capsys.readouterr().out == '{"query": "q"}\n\n'
    monkeypatch.setattr(sys, "stdin", io.StringIO(text))  # forced: JSONL, so it is invalid
    assert main(["compress", "--format", "jsonl", "-"], compressor=compressor) == 2
    assert "stdin:1: invalid JSON" in capsys.readouterr().err


def test_format_option_overrides_the_file_name(compressor, files, tmp_path, capsys) -> None:
    upper = tmp_path / "BATCH.JSONL"
    upper.write_bytes(files["batch"].read_bytes())
    assert main(["compress", "--budget", "40", "-q", str(upper)], compressor=compressor) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r.get("id") for r in rows] == ["q1", None]  # .JSONL in capitals is JSONL
    argv = ["compress", "--format", "text", "--ratio", "1", "-q", str(files["batch"])]
    assert main(argv, compressor=compressor) == 0
    assert capsys.readouterr().out == files["batch"].read_text(encoding="utf-8") + "\n"


# --- what is printed ----------------------------------------------------------------------------

LINES = (
    "Röntgen discovered X-rays in 1895.\r\n"
    "Paris is the capital of France.\r\n"
    "He won the first Nobel Prize in Physics.\r\n"
)
QUESTION = "Who discovered X-rays, and what prize did he win?"


def test_plain_output_keeps_line_breaks_within_budget(compressor, tmp_path, capsys) -> None:
    path = tmp_path / "lines.txt"
    path.write_text(LINES.replace("\r\n", "\n"), encoding="utf-8")
    argv = ["compress", "--query", QUESTION, "--budget", "22", "-q", str(path)]
    assert main(argv, compressor=compressor) == 0
    out = capsys.readouterr().out
    assert out == "Röntgen discovered X-rays in 1895.\nHe won the first Nobel Prize in Physics.\n"
    assert compressor.count_tokens(out.rstrip("\n")) <= 22
    path.write_text(
        "# Röntgen\n\nHe discovered X-rays in 1895.\n\nParis is the capital of France. The Eiffel "
        "Tower is tall.\n\nHe won the first Nobel Prize in Physics in 1901.",
        encoding="utf-8",
    )
    argv = ["compress", "--query", QUESTION, "--budget", "24", "-q", str(path)]
    assert main(argv, compressor=compressor) == 0
    out = capsys.readouterr().out  # a dropped paragraph leaves a blank line, as in Markdown
    assert (
        out == "He discovered X-rays in 1895.\n\nHe won the first Nobel Prize in Physics in 1901.\n"
    )


def test_json_offsets_index_the_files_own_text_with_crlf(compressor, tmp_path, capsys) -> None:
    path = tmp_path / "crlf.txt"
    path.write_bytes(LINES.encode("utf-8"))
    own = path.read_bytes().decode("utf-8")
    for budget in ("22", "100"):  # some spans kept; everything kept (one whole span)
        argv = ["compress", "--query", QUESTION, "--budget", budget, "--json", "-q", str(path)]
        assert main(argv, compressor=compressor) == 0
        spans = json.loads(capsys.readouterr().out)["spans"]
        assert spans and max(s["end"] for s in spans) > 72  # past the second CRLF
        for s in spans:
            assert own[s["start"] : s["end"]] == s["text"]
    assert spans[-1]["end"] == len(own)  # "\r\n" counted as in the file


def test_read_only_cache_is_used_and_never_written(compressor, files, tmp_path, capsys) -> None:
    cache = tmp_path / "fp"
    assert main(["warm", "--cache", str(cache), "-q", str(files["a"])], compressor=compressor) == 0
    before = {p.name: p.read_bytes() for p in cache.iterdir()}
    argv = ["compress", "--cache", str(cache), "--read-only", "--budget", "16", "-q"]
    assert main([*argv, str(files["a"]), str(files["b"])], compressor=compressor) == 0
    assert "Röntgen discovered X-rays" in capsys.readouterr().out
    assert {p.name: p.read_bytes() for p in cache.iterdir()} == before  # b.txt not added


class TTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def slow_bow(texts: list[str]) -> np.ndarray:
    import time

    time.sleep(0.3)
    return bag_of_words(texts)


def test_progress_per_document_and_summary_time_includes_fingerprinting(files, monkeypatch) -> None:
    """On a terminal: a per-document bar, and a summary time that covers the fingerprinting
    (each encoder call sleeps 0.3 s; before, the summary showed only the cache-hit compress)."""
    err = TTY()
    monkeypatch.setattr(sys, "stderr", err)
    core = SemTokenCompressor(encoder=slow_bow)
    _ = core.namespace  # the callable's identity probe, not part of the measured run
    paths = [str(files["a"]), str(files["b"]), str(files["a"]) + "x"]
    Path(paths[2]).write_text("Tea is a drink. It comes from China.\n", encoding="utf-8")
    assert main(["compress", "--query", "X-rays", "--budget", "16", *paths], compressor=core) == 0
    text = err.getvalue()
    assert "fingerprints: 100%" in text and "3/3" in text and "1/3" in text  # steps per doc
    seconds = float(text.rsplit(" in ", 1)[1].split(" s")[0])
    assert seconds >= 0.9  # three documents fingerprinted one by one, 0.3 s each at least


def test_progress_per_window_for_one_big_document(compressor, tmp_path, monkeypatch) -> None:
    err = TTY()
    monkeypatch.setattr(sys, "stderr", err)
    big = tmp_path / "big.txt"
    sentences = [f"Sentence {i} is about topic {i % 7} and X-ray number {i}." for i in range(300)]
    big.write_text(" ".join(sentences), encoding="utf-8")
    argv = ["compress", "--query", "X-ray number 42", "--budget", "30", str(big)]
    assert main(argv, compressor=compressor) == 0
    # a total and an ETA (before: "windows: 325window [00:27, 11.71window/s]")
    done = re.findall(r"windows: 100%\|[^|]*\| (\d+)/(\d+) \[\d\d:\d\d<\d\d:\d\d", err.getvalue())
    assert done and done[-1][0] == done[-1][1], err.getvalue()
    assert int(done[-1][1]) >= 10  # ~5,000 model tokens in ~256-token windows
    assert "_forward" not in vars(compressor.encoder)  # nothing patched on the shared encoder
