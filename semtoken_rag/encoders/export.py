"""Int8 exports of a sentence-transformers model for the ``onnx`` and ``openvino`` backends.

On first use the model folder (the bundled all-MiniLM-L6-v2 by default) is exported once with
``torch.onnx.export`` and quantised, offline, into a per-user cache folder:

- ``onnx``: ONNX Runtime's dynamic int8 quantisation, per output channel (weights int8, each
  activation quantised on the fly).
- ``openvino``: int8 weights, per output channel, dequantised in the graph (``DequantizeLinear``);
  OpenVINO's CPU plugin runs them as compressed weights (bf16 or int8 compute where the CPU has
  it, f32 elsewhere).

The cache folder is ``$SEMTOKEN_RAG_CACHE_DIR``, else ``$XDG_CACHE_HOME/semtoken-rag``, else
``~/.cache/semtoken-rag``. Each export lives in its own sub-folder named by a digest of what it
depends on (:func:`export_key`: the model's identity and files, the backend, the versions of
torch, onnx and the runtime, and :data:`EXPORT_VERSION`). An export is written to a temporary
folder and renamed into place (atomic), under a file lock (two processes never export the same
thing at once); the temporary folders of exports killed mid-way are removed by the next export,
each under its own lock (one that another process is still writing is left alone). Its manifest
records the blake2b digest of every file; a folder whose files do not match (a partial copy, a
truncated or altered model) is detected on load and rebuilt.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import shutil
import threading
import uuid
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

from ..files import file_digest, file_lock, try_lock
from ..progress import no_third_party_bars

logger = logging.getLogger(__name__)

Runtime = Literal["onnx", "openvino"]

EXPORT_VERSION = 1
"""Bump when the export or quantisation recipe changes: older exports are then rebuilt."""
ENV_CACHE_DIR = "SEMTOKEN_RAG_CACHE_DIR"
MANIFEST = "export.json"
MODEL_FILE = "model.onnx"
COPIED = ("tokenizer.json", "tokenizer_config.json", "config.json", "sentence_bert_config.json")
"""Files copied from the model folder beside the exported model (the runtime needs no other)."""
_OPSET = 17
_RUNTIME_DIST = {"onnx": "onnxruntime", "openvino": "openvino"}

exports = 0
"""How many exports this process has built (a reused export does not count)."""
_lock = threading.Lock()
_LEFTOVER = re.compile(r"\.(?:tmp|stale)-(.+)-[0-9a-f]{8}")


def cache_dir() -> Path:
    """The per-user folder that holds exports.

    Example:
        >>> cache_dir().name  # doctest: +SKIP
        'semtoken-rag'
    """
    env = os.environ.get(ENV_CACHE_DIR)
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "semtoken-rag"


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "absent"


def export_key(model_dir: str | os.PathLike[str], identity: str, backend: Runtime) -> str:
    """Digest of everything an export depends on: the model identity, the name, size and
    modification time of each file of the model folder, the backend, the versions of torch,
    onnx and the runtime, and :data:`EXPORT_VERSION`.

    Example:
        >>> len(export_key(".", "st:demo", "onnx"))
        32
    """
    folder = Path(model_dir)
    files = []
    for p in sorted(folder.rglob("*")):
        if p.is_file() and not p.name.startswith("."):
            st = p.stat()
            files.append([str(p.relative_to(folder)), st.st_size, st.st_mtime_ns])
    parts = {
        "v": EXPORT_VERSION,
        "identity": identity,
        "backend": backend,
        "files": files,
        "versions": {d: _version(d) for d in ("torch", "onnx", _RUNTIME_DIST[backend])},
    }
    data = json.dumps(parts, sort_keys=True).encode("utf-8")
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def ensure_export(
    model_dir: str | os.PathLike[str], identity: str, backend: Runtime, root: Path | None = None
) -> Path:
    """The folder of the int8 export of ``model_dir`` for ``backend``: reused when present and
    intact, else built (offline) and renamed into place.

    Args:
        model_dir: A local sentence-transformers model folder.
        identity: The encoder's identity (part of the key).
        backend: ``"onnx"`` or ``"openvino"``.
        root: Where exports live (default :func:`cache_dir`).

    Raises:
        ValueError: ``model_dir`` is not a folder, or the cache folder cannot be created or
            written (missing under a read-only parent, or itself read-only): the message names
            it and :data:`ENV_CACHE_DIR`.
        ImportError: torch, transformers or onnx is missing (the message names the extra).
    """
    global exports
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        raise ValueError(f"model_dir {str(model_dir)!r} is not a local model folder")
    root = root or cache_dir()
    key = export_key(model_dir, identity, backend)
    slug = "".join(c if c.isalnum() or c in "-_." else "-" for c in identity)[-48:]
    final = root / f"{backend}-{slug}-{key[:16]}"
    with _lock:
        if verify(final):
            return final
        with contextlib.ExitStack() as held:
            try:
                root.mkdir(parents=True, exist_ok=True)
                held.enter_context(file_lock(root / f".{final.name}.lock", exclusive=True))
            except OSError as e:  # a read-only folder: its lock file cannot be created
                raise ValueError(
                    f"cannot write the export cache folder {str(root)!r} ({e.strerror or e}); "
                    f"set {ENV_CACHE_DIR} to a writable folder"
                ) from e
            if verify(final):  # another process built it while we waited
                return final
            if final.exists():
                logger.warning("export %s is incomplete or altered; rebuilding it", final)
            _sweep(root, final.name)
            tmp = root / f".tmp-{final.name}-{uuid.uuid4().hex[:8]}"
            try:
                tmp.mkdir()
                logger.info(  # the CLI prints this line (before a silent ~10 s)
                    "exporting %s to %s int8 once (~10 s) into %s", identity, backend, final
                )
                _build(model_dir, tmp, backend)
                _write_manifest(tmp, key, identity, backend)
                if final.exists():
                    stale = root / f".stale-{final.name}-{uuid.uuid4().hex[:8]}"
                    final.rename(stale)
                    shutil.rmtree(stale, ignore_errors=True)
                tmp.rename(final)  # the commit point
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
            exports += 1
    return final


def _sweep(root: Path, held: str) -> None:
    """Remove the temporary folders of exports killed mid-way (``.tmp-<name>-<8 hex>``, and
    ``.stale-<name>-<8 hex>`` of a rebuild): ours (``held``, whose lock the caller holds) and
    any other whose lock nobody holds (every process building ``name`` holds its lock, so such a
    folder is nobody's work). Nothing is removed where locks are not supported."""
    try:
        import fcntl  # noqa: F401
    except ImportError:  # pragma: no cover - Windows: no lock tells a live export from a dead one
        return
    for entry in os.scandir(root):
        m = _LEFTOVER.fullmatch(entry.name)
        if m is None or not entry.is_dir(follow_symlinks=False):
            continue
        with contextlib.ExitStack() as stack:
            name = m.group(1)
            if name == held or stack.enter_context(try_lock(root / f".{name}.lock")):
                logger.info("removing %s, left by an export that was killed", entry.path)
                shutil.rmtree(entry.path, ignore_errors=True)


def verify(folder: Path) -> bool:
    """Whether ``folder`` holds a complete export whose files match its manifest's digests."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        files = manifest["files"]
        if MODEL_FILE not in files or manifest.get("version") != EXPORT_VERSION:
            return False
        for name, entry in files.items():
            path = folder / name
            if path.stat().st_size != entry["bytes"] or file_digest(path) != entry["blake2b"]:
                return False
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return False
    return True


def _write_manifest(folder: Path, key: str, identity: str, backend: Runtime) -> None:
    files = {
        p.name: {"bytes": p.stat().st_size, "blake2b": file_digest(p)}
        for p in sorted(folder.iterdir())
        if p.is_file()
    }
    body = {
        "format": "semtoken-rag/int8-export",
        "version": EXPORT_VERSION,
        "key": key,
        "identity": identity,
        "backend": backend,
        "files": files,
    }
    with open(folder / MANIFEST, "w", encoding="utf-8") as f:
        json.dump(body, f, indent=1, sort_keys=True)
        f.flush()
        os.fsync(f.fileno())


def _build(model_dir: Path, out: Path, backend: Runtime) -> None:
    """Export fp32 ONNX from the model folder's weights, then quantise it into ``out``."""
    for name in COPIED:
        if (model_dir / name).is_file():
            shutil.copyfile(model_dir / name, out / name)
    if not (out / "tokenizer.json").is_file():
        raise ValueError(f"model folder {str(model_dir)!r} has no tokenizer.json (fast tokenizer)")
    fp32 = out / "fp32.onnx"
    _export_fp32(model_dir, fp32)
    if backend == "onnx":
        _quantize_dynamic(fp32, out / MODEL_FILE)
    else:
        _quantize_weights(fp32, out / MODEL_FILE)
    fp32.unlink()


def _export_fp32(model_dir: Path, dst: Path) -> None:
    try:
        import torch
        from transformers import AutoModel
    except ImportError as e:  # pragma: no cover - core dependencies
        raise ImportError("exporting the encoder needs torch and transformers") from e
    with no_third_party_bars():
        model = AutoModel.from_pretrained(str(model_dir)).eval()

    class Hidden(torch.nn.Module):
        """The transformer's last hidden states from (input_ids, attention_mask)."""

        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids: Any, attention_mask: Any) -> Any:
            return self.inner(input_ids=input_ids, attention_mask=attention_mask)[0]

    ids = torch.ones((2, 16), dtype=torch.long)
    axes = {0: "batch", 1: "sequence"}
    with torch.inference_mode(), _quiet():
        torch.onnx.export(
            Hidden(model),
            (ids, torch.ones_like(ids)),
            str(dst),
            dynamo=False,
            opset_version=_OPSET,
            input_names=["input_ids", "attention_mask"],
            output_names=["last_hidden_state"],
            dynamic_axes={"input_ids": axes, "attention_mask": axes, "last_hidden_state": axes},
        )


def _quantize_dynamic(src: Path, dst: Path) -> None:
    try:
        from onnxruntime.quantization import QuantType, quantize_dynamic
    except ImportError as e:
        raise ImportError(
            "backend='onnx' needs onnxruntime and onnx: pip install 'semtoken-rag[onnx]'"
        ) from e
    with _quiet():
        quantize_dynamic(str(src), str(dst), weight_type=QuantType.QInt8, per_channel=True)


def _quantize_weights(src: Path, dst: Path) -> None:
    """Int8 weights per output channel (symmetric) behind ``DequantizeLinear``: the form
    OpenVINO reads as compressed weights. Matrices of ``MatMul`` (and embedding tables of
    ``Gather``) are quantised; biases and norms stay fp32."""
    try:
        import numpy as np
        import onnx
        from onnx import helper, numpy_helper
    except ImportError as e:
        raise ImportError(
            "backend='openvino' needs openvino and onnx: pip install 'semtoken-rag[openvino]'"
        ) from e
    model = onnx.load(str(src))
    graph = model.graph
    inits = {i.name: i for i in graph.initializer}
    nodes, done = [], set()
    for node in graph.node:
        if node.op_type not in ("MatMul", "Gather"):
            continue
        name = node.input[1] if node.op_type == "MatMul" else node.input[0]
        if name in done or name not in inits:
            continue
        w = numpy_helper.to_array(inits[name]).astype(np.float32)
        if w.ndim != 2:
            continue
        axis = 1 if node.op_type == "MatMul" else 0  # the output channel
        scale = np.maximum(np.abs(w).max(axis=1 - axis), 1e-12) / 127.0
        q = np.clip(np.round(w / np.expand_dims(scale, 1 - axis)), -127, 127).astype(np.int8)
        graph.initializer.remove(inits[name])
        graph.initializer.extend(
            [
                numpy_helper.from_array(q, f"{name}_q"),
                numpy_helper.from_array(scale.astype(np.float32), f"{name}_s"),
                numpy_helper.from_array(np.zeros(len(scale), np.int8), f"{name}_z"),
            ]
        )
        nodes.append(
            helper.make_node(
                "DequantizeLinear", [f"{name}_q", f"{name}_s", f"{name}_z"], [name], axis=axis
            )
        )
        done.add(name)
    for n in reversed(nodes):
        graph.node.insert(0, n)
    onnx.save(model, str(dst))


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence the exporters' and quantiser's warnings (they log through the root logger)."""
    import warnings

    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        root.setLevel(level)
