"""The command line, in process with the shared model, plus one run of the installed entry point."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from semtoken_rag import SemTokenCompressor, __version__
from semtoken_rag.cli import main

XRAYS = (
    "Wilhelm Röntgen discovered X-rays in 1895. He won the first Nobel Prize in Physics in 1901."
)
PARIS = "Paris is the capital of France. The Eiffel Tower was completed in 1889."


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
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
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
        (["compress", "--budget", "0", "{a}"], "budget must be > 0"),
        (["compress", "--ratio", "1.5", "{a}"], "ratio must be in (0, 1]"),
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
    assert err.count("\n") == 1 and err.startswith("semtoken-rag"), err
    assert message in err
    assert "Traceback" not in err


def test_bench_outside_a_checkout(monkeypatch, capsys) -> None:
    import semtoken_rag.cli as cli

    monkeypatch.setattr(cli, "_checkout_root", lambda: None)
    assert main(["bench", "--suite", "quick"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "source checkout" in err


def test_bench_forwards_to_the_harness_in_a_subprocess(capfd) -> None:
    assert main(["bench", "--help"]) == 0
    assert "--suite" in capfd.readouterr().out  # the harness's own help, from its process


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
