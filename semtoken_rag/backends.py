"""Int8 encoder backends: the same model, exported once (:mod:`semtoken_rag.export`), run by ONNX
Runtime (``backend="onnx"``) or OpenVINO (``backend="openvino"``) instead of torch.

Both are :class:`~semtoken_rag.encoder.TransformerEncoder` subclasses that replace only loading
and the model forward (``_forward(ids, mask) -> hidden states``), so windowing, late pooling and
entropy are the same code for every backend. They import neither torch nor sentence-transformers
once the export exists: the tokenizer is the model's own ``tokenizer.json`` (``tokenizers``).

Each sequence of a batch runs alone, unpadded: ONNX Runtime's dynamic quantisation takes one
activation scale per tensor, so a padded batch would make a document's fingerprints depend on
the documents batched with it. Alone, a sequence gets the same vectors in any batch, and one
sequence at a time is also the fastest on a small CPU (measured in ``benchmarks/speed.py``).
"""

from __future__ import annotations

import importlib
import json
import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from . import export, threads
from .config import DEFAULT_ENCODER
from .encoder import TransformerEncoder, _unit, resolve_model_path

logger = logging.getLogger(__name__)


class FastTokenizer:
    """The part of a Hugging Face fast tokenizer that :class:`TransformerEncoder` calls, on top
    of ``tokenizers.Tokenizer`` (no transformers import).

    Example:
        >>> tok = FastTokenizer.from_folder(resolve_model_path(DEFAULT_ENCODER))
        >>> tok("Hello world", add_special_tokens=False)["input_ids"]
        [7592, 2088]
    """

    def __init__(self, tokenizer: Any, model_max_length: int, cls_token: str, sep_token: str):
        tokenizer.no_truncation()
        tokenizer.no_padding()
        self._tok = tokenizer
        self.model_max_length = model_max_length
        self.cls_token_id = tokenizer.token_to_id(cls_token)
        self.sep_token_id = tokenizer.token_to_id(sep_token)
        if self.cls_token_id is None or self.sep_token_id is None:
            raise ValueError(f"tokenizer has no {cls_token!r} or {sep_token!r} token")

    @classmethod
    def from_folder(cls, folder: str | Path) -> FastTokenizer:
        from tokenizers import Tokenizer

        folder = Path(folder)
        conf = _read_json(folder / "tokenizer_config.json")
        return cls(
            Tokenizer.from_file(str(folder / "tokenizer.json")),
            int(conf.get("model_max_length", 512)),
            str(conf.get("cls_token", "[CLS]")),
            str(conf.get("sep_token", "[SEP]")),
        )

    def __call__(
        self,
        text: str,
        add_special_tokens: bool = True,
        return_offsets_mapping: bool = False,
        **_: Any,
    ) -> dict[str, Any]:
        enc = self._tok.encode(text, add_special_tokens=add_special_tokens)
        out: dict[str, Any] = {"input_ids": list(enc.ids)}
        if return_offsets_mapping:
            out["offset_mapping"] = list(enc.offsets)
        return out


class _Model:
    """What :class:`TransformerEncoder` reads of a loaded model: tokenizer, limits, dimension."""

    def __init__(self, folder: Path) -> None:
        self.tokenizer = FastTokenizer.from_folder(folder)
        st = _read_json(folder / "sentence_bert_config.json")
        self.max_seq_length = int(st.get("max_seq_length") or self.tokenizer.model_max_length)
        self.dimension = int(_read_json(folder / "config.json")["hidden_size"])

    def get_embedding_dimension(self) -> int:
        return self.dimension


class RuntimeEncoder(TransformerEncoder):
    """Shared by the int8 backends: export on first use, one runner per thread count, sequences
    run one at a time; queries mean-pooled like sentence-transformers (truncated to the model's
    maximum length, special tokens included)."""

    backend: export.Runtime = "onnx"
    runtime_module = "onnxruntime"
    """The package that runs the export (checked before exporting, named in the error)."""
    pad_to = 1
    """Each sequence runs padded (attention mask 0) to a multiple of this many tokens, so the
    runtime sees few distinct shapes (OpenVINO caches kernels per shape: 256 lengths cost
    ~120 MB). 1 for ONNX Runtime, where padding would change the activation scale."""

    def __init__(
        self,
        model: str = DEFAULT_ENCODER,
        *,
        batch_size: int = 32,
        cache_dir: str | Path | None = None,
    ) -> None:
        if not isinstance(model, str):
            raise TypeError(
                f"backend={self.backend!r} needs the model as a name or local path (it is "
                f"exported from its files), got {type(model).__name__}"
            )
        super().__init__(model, device="cpu", batch_size=batch_size)
        self._root = Path(cache_dir) if cache_dir is not None else None
        self._runners: dict[int, Any] = {}
        self.folder: Path | None = None
        """The export in use (set by :meth:`load`)."""

    @property
    def identity(self) -> str:
        """The torch identity plus the backend, e.g. ``st:all-MiniLM-L6-v2+onnx-int8``: int8
        fingerprints never meet fp32 ones in a cache."""
        return f"{super().identity}+{self.backend}-int8"

    def load(self) -> Any:
        if self._model is None:
            with self._lock:
                if self._model is None:
                    self._check_runtime()
                    path = resolve_model_path(self._name)
                    self.folder = export.ensure_export(
                        path, super().identity, self.backend, self._root
                    )
                    self._model = _Model(self.folder)
                    logger.info("encoder %s: %s int8 in %s", self._name, self.backend, self.folder)
        return self._model

    def encode_query(self, texts: Sequence[str]) -> np.ndarray:
        """Unit vectors ``[n, dim]``: mean of each text's token states (``[CLS]`` and ``[SEP]``
        included, truncated to the model's maximum length), like sentence-transformers."""
        m = self.load()
        tok = m.tokenizer
        limit = self.max_tokens - 2
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            ids = tok(text, add_special_tokens=False)["input_ids"][:limit]
            seq = np.array([[tok.cls_token_id, *ids, tok.sep_token_id]], dtype=np.int64)
            h = self._forward(seq, np.ones_like(seq))[0]
            out[i] = h.mean(axis=0)
        return _unit(out)

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Hidden states ``[batch, width, dim]``; each row runs alone at its own length."""
        self.load()
        lengths = mask.sum(axis=1).astype(np.int64)
        out = np.zeros((*ids.shape, self.dim), dtype=np.float32)
        for i, n in enumerate(lengths.tolist()):
            if n == 0:
                continue
            width = -(-n // self.pad_to) * self.pad_to
            row, row_mask = np.zeros((1, width), np.int64), np.zeros((1, width), np.int64)
            row[0, :n], row_mask[0, :n] = ids[i, :n], 1
            out[i, :n] = self._runner(threads.forward_threads(n))(row, row_mask)[0, :n]
        return out

    @property
    def model_file(self) -> Path:
        """The int8 model file (exported on first use)."""
        self.load()
        if self.folder is None:  # pragma: no cover - load() sets it
            raise RuntimeError("the export folder is not set")
        return self.folder / export.MODEL_FILE

    def _runner(self, n_threads: int) -> Any:
        run = self._runners.get(n_threads)
        if run is None:
            with self._lock:
                run = self._runners.get(n_threads)
                if run is None:
                    run = self._make_runner(self.model_file, n_threads)
                    self._runners[n_threads] = run
        return run

    def _check_runtime(self) -> None:
        try:
            importlib.import_module(self.runtime_module)
        except ImportError as e:
            raise ImportError(
                f"backend={self.backend!r} needs {self.runtime_module}: "
                f"pip install 'semtoken-rag[{self.backend}]'"
            ) from e

    def _make_runner(self, path: Path, n_threads: int) -> Any:
        raise NotImplementedError


class OnnxEncoder(RuntimeEncoder):
    """``backend="onnx"``: ONNX Runtime, int8 dynamic quantisation per output channel.

    Example:
        >>> enc = OnnxEncoder()  # doctest: +SKIP
        >>> enc.encode_query(["who won?"]).shape  # doctest: +SKIP
        (1, 384)
    """

    backend: export.Runtime = "onnx"

    def _make_runner(self, path: Path, n_threads: int) -> Any:
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = n_threads
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])

        def run(ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
            return np.asarray(session.run(None, {"input_ids": ids, "attention_mask": mask})[0])

        return run


class OpenVINOEncoder(RuntimeEncoder):
    """``backend="openvino"``: OpenVINO on the CPU, int8 weights per output channel.

    Example:
        >>> enc = OpenVINOEncoder()  # doctest: +SKIP
        >>> enc.encode_query(["who won?"]).shape  # doctest: +SKIP
        (1, 384)
    """

    backend: export.Runtime = "openvino"
    runtime_module = "openvino"
    pad_to = 32

    def _make_runner(self, path: Path, n_threads: int) -> Any:
        import openvino as ov

        streams = max(1, threads.cores() // n_threads)  # one stream per concurrent call
        compiled = ov.Core().compile_model(
            str(path),
            "CPU",
            {"INFERENCE_NUM_THREADS": n_threads * streams, "NUM_STREAMS": streams},
        )
        local = threading.local()

        def run(ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
            req = getattr(local, "request", None)
            if req is None:
                req = local.request = compiled.create_infer_request()
            res = req.infer({"input_ids": ids, "attention_mask": mask})
            return np.array(res[compiled.output(0)], dtype=np.float32)

        return run


def runtime_encoder(
    model: str, backend: str, batch_size: int = 32, device: str | None = None
) -> RuntimeEncoder:
    """The int8 encoder of ``backend`` (``"onnx"`` or ``"openvino"``) for a model name or path;
    both run on the CPU (``device`` must be ``None`` or ``"cpu"``)."""
    if backend not in ("onnx", "openvino"):
        raise ValueError(f"backend must be 'onnx' or 'openvino' here, got {backend!r}")
    if device not in (None, "cpu"):
        raise ValueError(
            f"device={device!r} needs backend='torch' (backend={backend!r} runs on the CPU)"
        )
    cls = OnnxEncoder if backend == "onnx" else OpenVINOEncoder
    return cls(model, batch_size=batch_size)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except FileNotFoundError:
        return {}
    return data if isinstance(data, dict) else {}
