"""The top-level ``./run`` script, on temporary copies of the repository (never the real .venv).

The set-up decision (create / reinstall / up to date) is read through ``--dry-run``; the real
set-up path runs with a stand-in ``python3`` whose ``-m venv`` makes a venv whose ``-m pip`` only
records its arguments (or fails like pip does), so nothing is installed and no registry is needed.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
KEY_FILES = (
    "pyproject.toml",
    "integrations/langchain/pyproject.toml",
    "integrations/llama-index/pyproject.toml",
    "constraints-cpu.txt",
)

pytestmark = pytest.mark.skipif(
    sys.platform == "win32" or not Path("/bin/sh").exists(), reason="./run is a POSIX sh script"
)

# Stand-in for python3: `-m venv DIR` makes a venv whose bin/python records `-m pip ...` calls
# (and fails with $FAKE_PIP_OUTPUT when that is set); everything else runs the real interpreter.
FAKE_PYTHON3 = """\
#!{real}
import os, sys
args = sys.argv[1:]
if args[:2] != ["-m", "venv"]:
    os.execv({real!r}, [{real!r}] + args)
venv = args[-1]
os.makedirs(os.path.join(venv, "bin"), exist_ok=True)
open(os.path.join(venv, "pyvenv.cfg"), "w").write("home = fake\\n")
python = os.path.join(venv, "bin", "python")
calls = os.path.join(venv, "pip-calls")
with open(python, "w") as f:
    f.write(
        "#!/bin/sh\\n"
        'if [ "$1" = -m ] && [ "$2" = pip ]; then\\n'
        '  shift 2; printf "%s\\\\n" "$*" >> ' + repr(calls) + "\\n"
        '  if [ -n "${{FAKE_PIP_OUTPUT:-}}" ]; then\\n'
        '    printf "%s\\\\n" "$FAKE_PIP_OUTPUT"; exit 1\\n'
        "  fi\\n"
        "  exit 0\\n"
        "fi\\n"
        'exec {real} "$@"\\n'
    )
os.chmod(python, 0o755)
"""

# Stand-in for an old python3: runs the script's `-c` code with version_info of Python 3.8.10.
OLD_PYTHON3 = """\
#!{real}
import sys
sys.version_info = (3, 8, 10, "final", 0)
code, sys.argv = sys.argv[2], ["-c"] + sys.argv[3:]
exec(compile(code, "<string>", "exec"))
"""


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """The script and the files its install key reads, copied to a temporary repository root."""
    root = tmp_path / "repo"
    for name in ("run", *KEY_FILES):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, root / name)
    return root


def write_exe(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text.format(real=sys.executable), encoding="utf-8")
    path.chmod(0o755)
    return path


@pytest.fixture
def fake_python3(tmp_path: Path) -> Path:
    return write_exe(tmp_path / "fakebin" / "python3", FAKE_PYTHON3)


def run(repo: Path, *args: str, **env: str | None) -> subprocess.CompletedProcess[str]:
    """``repo/run ARGS`` with SEMTOKEN_PYTHON=this interpreter unless ``env`` says otherwise."""
    full = {k: v for k, v in os.environ.items() if not k.startswith("SEMTOKEN_")}
    full["SEMTOKEN_PYTHON"] = sys.executable
    for key, value in env.items():
        if value is None:
            full.pop(key, None)
        else:
            full[key] = value
    return subprocess.run(
        [str(repo / "run"), *args], env=full, capture_output=True, text=True, timeout=60
    )


def state(repo: Path, **env: str | None) -> str:
    proc = run(repo, "--dry-run", **env)
    assert proc.returncode == 0, proc.stderr
    match = re.search(r"^setup: (create|reinstall|up to date)\b", proc.stdout, re.M)
    assert match, proc.stdout
    return match.group(1)


def pip_calls(repo: Path) -> list[str]:
    calls = repo / ".venv" / "pip-calls"
    return calls.read_text().splitlines() if calls.exists() else []


def test_missing_venv_means_create_and_dry_run_changes_nothing(repo: Path) -> None:
    assert state(repo) == "create"
    proc = run(repo, "--dry-run", "demo")
    assert proc.stdout.splitlines()[-1] == f"run: {repo}/.venv/bin/semtoken-rag demo"
    assert not (repo / ".venv").exists()


def test_first_setup_installs_once_then_is_up_to_date(repo: Path, fake_python3: Path) -> None:
    env = {"SEMTOKEN_PYTHON": str(fake_python3)}
    proc = run(repo, "setup", **env)
    assert proc.returncode == 0, proc.stderr
    assert pip_calls(repo) == [
        "install --disable-pip-version-check --progress-bar off -c constraints-cpu.txt"
        " -e .[test,ray] -e integrations/langchain -e integrations/llama-index"
    ]
    assert (repo / ".venv" / ".semtoken-run-stamp").exists()
    assert state(repo, **env) == "up to date"
    assert run(repo, "setup", **env).returncode == 0
    assert len(pip_calls(repo)) == 1  # unchanged inputs: pip is not run again


@pytest.mark.parametrize("name", KEY_FILES)
def test_changed_install_input_means_reinstall(repo: Path, fake_python3: Path, name: str) -> None:
    env = {"SEMTOKEN_PYTHON": str(fake_python3)}
    assert run(repo, "setup", **env).returncode == 0
    path = repo / name
    text = path.read_text(encoding="utf-8")
    if name == "pyproject.toml":  # the case the issue names: a changed dependency
        assert '"numpy>=1.24",' in text
        path.write_text(text.replace('"numpy>=1.24",', '"numpy>=1.25",'), encoding="utf-8")
    else:
        path.write_text(text + "\n# changed\n", encoding="utf-8")
    assert state(repo, **env) == "reinstall"
    assert run(repo, "setup", **env).returncode == 0
    assert len(pip_calls(repo)) == 2
    assert state(repo, **env) == "up to date"


def test_other_files_do_not_trigger_a_reinstall(repo: Path, fake_python3: Path) -> None:
    env = {"SEMTOKEN_PYTHON": str(fake_python3)}
    assert run(repo, "setup", **env).returncode == 0
    (repo / "README.md").write_text("changed\n", encoding="utf-8")
    assert state(repo, **env) == "up to date"


def test_missing_stamp_means_reinstall(repo: Path, fake_python3: Path) -> None:
    env = {"SEMTOKEN_PYTHON": str(fake_python3)}
    assert run(repo, "setup", **env).returncode == 0
    (repo / ".venv" / ".semtoken-run-stamp").unlink()
    assert state(repo, **env) == "reinstall"


PIP_NO_DISTRIBUTION = (
    "Collecting faiss-cpu>=1.8\n"
    "ERROR: Could not find a version that satisfies the requirement faiss-cpu>=1.8"
    " (from versions: none)\n"
    "ERROR: No matching distribution found for faiss-cpu>=1.8"
)
PIP_OFFLINE = (
    "Collecting tiktoken>=0.5\n"
    "  WARNING: Retrying (Retry(total=0, connect=None, read=None, redirect=None, status=None))"
    " after connection broken by 'NewConnectionError(': Failed to establish a new connection:"
    " [Errno 111] Connection refused')': /simple/tiktoken/\n"
    "ERROR: Could not install packages due to an OSError: Max retries exceeded with url: /simple/"
)


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        (
            PIP_NO_DISTRIBUTION,
            "pip failed on 'faiss-cpu>=1.8' (is the package registry reachable?)",
        ),
        (PIP_OFFLINE, "pip failed on 'tiktoken>=0.5' (the package registry is unreachable)"),
    ],
)
def test_pip_failure_names_the_cause_and_keeps_the_log(
    repo: Path, fake_python3: Path, output: str, expected: str
) -> None:
    env = {"SEMTOKEN_PYTHON": str(fake_python3)}
    proc = run(repo, "demo", FAKE_PIP_OUTPUT=output, **env)
    assert proc.returncode == 2
    assert proc.stdout == ""
    log = repo / ".venv" / "pip-install.log"
    last = proc.stderr.strip().splitlines()[-1]
    assert last == f"run: {expected}; full log: {log}"
    assert log.read_text().strip() == output
    assert not (repo / ".venv" / ".semtoken-run-stamp").exists()
    assert state(repo, **env) == "reinstall"  # the next call retries


def test_too_old_python3_on_path_fails_in_one_line(repo: Path, tmp_path: Path) -> None:
    old = write_exe(tmp_path / "oldbin" / "python3", OLD_PYTHON3)
    path = f"{old.parent}{os.pathsep}{os.environ.get('PATH', '')}"
    proc = run(repo, "demo", SEMTOKEN_PYTHON=None, PATH=path)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.count("\n") == 1
    assert "Python 3.8.10" in proc.stderr and ">= 3.10" in proc.stderr
    assert not (repo / ".venv").exists()


def test_missing_python3_fails_in_one_line(repo: Path, tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin-without-python"  # only what the script needs before python3
    bin_dir.mkdir()
    dirname = shutil.which("dirname")
    assert dirname
    (bin_dir / "dirname").symlink_to(dirname)
    envs: list[dict[str, str | None]] = [
        {"SEMTOKEN_PYTHON": None, "PATH": str(bin_dir)},
        {"SEMTOKEN_PYTHON": "/no/python3"},
    ]
    for env in envs:
        proc = run(repo, "test", **env)
        assert proc.returncode == 2
        assert proc.stderr.count("\n") == 1
        assert "not found" in proc.stderr and ">= 3.10" in proc.stderr
    assert not (repo / ".venv").exists()


def test_commands_pass_their_arguments_through(repo: Path) -> None:
    venv = repo / ".venv"
    expected = {
        ("test", "-k", "cli"): f"run: {venv}/bin/python -m pytest -q -k cli",
        ("bench", "--out", "x"): f"run: {venv}/bin/python -m benchmarks.run --suite quick --out x",
        ("python", "-c", "print(1)"): f"run: {venv}/bin/python -c print(1)",
        ("shell", "pytest", "-x"): "run: pytest -x",
        ("lint",): f"run: {venv}/bin/mypy",
    }
    for args, line in expected.items():
        proc = run(repo, "--dry-run", *args)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.splitlines()[-1] == line
    assert run(repo, "help").returncode == 0
    unknown = run(repo, "frobnicate")
    assert unknown.returncode == 2 and "unknown command" in unknown.stderr


def test_readme_quickstart_is_exactly_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Quickstart\n", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```(?:bash|sh)\n(.*?)```", section, re.S)
    assert block, "no code block in the Quickstart"
    commands = [line.split("#", 1)[0].strip() for line in block.group(1).splitlines()]
    assert [c for c in commands if c] == ["./run demo", "./run test"]


def test_ci_runs_the_readme_test_command() -> None:
    lines = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    commands = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    assert "./run test" in commands or "exec ./run test" in commands
    assert commands.index("./run lint") < commands.index("./run test")
