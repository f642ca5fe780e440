"""The int8 export folder (issue 25): a read-only one is refused with the documented ValueError,
and the temporary folders of exports killed mid-way are swept, under their locks."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from tiny_model import save_tiny_bert

from semtoken_rag.encoders import export
from semtoken_rag.encoders.runtime import OnnxEncoder
from semtoken_rag.files import file_lock

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

CHILD = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from semtoken_rag.encoders import export
    try:
        export.ensure_export(sys.argv[1], "st:tiny", "onnx", Path(sys.argv[2]))
        print("ok")
    except Exception as e:
        print(type(e).__name__, e)
    """
)


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_bert(tmp_path_factory.mktemp("tiny-bert"))


def _in_read_only(root: Path, model: Path) -> str:
    """Run ``CHILD`` with ``root`` read-only: chmod, or (as root, whom modes do not stop) a
    read-only bind mount in a private mount namespace."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    if os.geteuid() != 0:
        root.chmod(0o555)
        try:
            cmd = [sys.executable, "-c", CHILD, str(model), str(root)]
            return subprocess.run(cmd, capture_output=True, text=True, env=env).stdout
        finally:
            root.chmod(0o755)
    if shutil.which("unshare") is None:
        pytest.skip("no unshare")
    script = root.parent / "child.py"
    script.write_text(CHILD)
    bind = f"mount --bind {root} {root} && mount -o remount,ro,bind {root}"
    run = subprocess.run(
        ["unshare", "-rm", "sh", "-c", f"{bind} && exec {sys.executable} {script} {model} {root}"],
        capture_output=True, text=True, env=env,
    )  # fmt: skip
    if "mount" in run.stderr and not run.stdout:
        pytest.skip(f"cannot bind-mount read-only here: {run.stderr.strip()}")
    return run.stdout


def test_a_read_only_export_folder_is_refused_naming_the_variable(tiny_model, tmp_path) -> None:
    # was: a bare PermissionError (EROFS as root) on the lock file, where a folder that could
    # not be created got this ValueError
    root = tmp_path / "exports"
    root.mkdir()
    out = _in_read_only(root, tiny_model)
    assert out.startswith("ValueError") and export.ENV_CACHE_DIR in out and str(root) in out, out
    built = export.ensure_export(tiny_model, "st:tiny", "onnx", root)  # once written...
    assert _in_read_only(root, tiny_model).strip() == "ok"  # ...a read-only one serves it
    assert export.verify(built)


def test_a_killed_export_leaves_nothing_behind_after_the_next_one(tiny_model, tmp_path) -> None:
    # was: every export killed mid-way (Ctrl-C, OOM, eviction) left its .tmp- folder forever
    root = tmp_path / "exports"
    code = f"from semtoken_rag.encoders.runtime import OnnxEncoder; OnnxEncoder({str(tiny_model)!r}, cache_dir={str(root)!r}).load()"  # noqa: E501
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    child = subprocess.Popen([sys.executable, "-c", code], env=env)
    deadline = time.monotonic() + 120
    while not (root.is_dir() and any(p.name.startswith(".tmp-") for p in root.iterdir())):
        assert child.poll() is None and time.monotonic() < deadline, "the export never began"
        time.sleep(0.02)
    child.send_signal(signal.SIGKILL)  # killed while exporting
    child.wait()
    killed = [p for p in root.iterdir() if p.name.startswith(".tmp-")]
    assert len(killed) == 1
    other = root / ".tmp-onnx-other-model-0123456789abcdef-0badcafe"  # another export's, dead
    busy = root / ".tmp-onnx-busy-model-0123456789abcdef-0badf00d"  # one still being written
    for folder in (other, busy):
        folder.mkdir()
        (folder / "model.onnx").write_bytes(b"partial")
    with file_lock(root / ".onnx-busy-model-0123456789abcdef.lock", exclusive=True):
        enc = OnnxEncoder(str(tiny_model), cache_dir=root)
        assert enc.encode_query(["who?"]).shape == (1, 32)
    assert not killed[0].exists() and not other.exists()
    assert busy.is_dir()  # its lock was held: somebody's work, left alone
    assert enc.folder is not None and export.verify(enc.folder)
