"""Int8 encoder backends: the same model, exported once (:mod:`.export`), run by ONNX Runtime
(``backend="onnx"``) or OpenVINO (``backend="openvino"``) instead of torch.

Both are :class:`~semtoken_rag.encoders.TransformerEncoder` subclasses that replace only loading
and the model forward (``_forward(ids, mask) -> hidden states``), so windowing, late pooling and
entropy are the same code for every backend. They import neither torch nor sentence-transformers
once the export exists: the tokenizer is the model's own ``tokenizer.json`` (``tokenizers``).

Each sequence of a batch runs alone, unpadded, on one thread: ONNX Runtime's dynamic quantisation
takes one activation scale per tensor, so a padded batch would make a document's fingerprints
depend on the documents batched with it. Alone, a sequence gets the same vectors in any batch.
A large forward runs :func:`~.threads.forward_threads` sequences at once (all cores for one big
call, one when as many calls as cores are in flight), all through one runner: one session (ONNX
Runtime) or one compiled model with a stream per core (OpenVINO), whatever the thread counts
asked. On the 2-core development machine this beat splitting each sequence over both cores
(issue 25, item 17: see the README's Threads).
"""

from __future__ import annotations

import importlib
import json
import logging
import queue
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..config import DEFAULT_ENCODER
from . import export, threads
from .callables import unit
from .loading import resolve_model_path
from .transformer import TransformerEncoder

logger = logging.getLogger(__name__)
_BUILDING = threading.Lock()  # runners are built and first run one at a time (see _runner)


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
    """Shared by the int8 backends: export on first use, one runner, each sequence run alone on
    one thread and a large forward's sequences run side by side; queries mean-pooled like
    sentence-transformers (truncated to the model's maximum length, special tokens included)."""

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
        self._run: Any = None  # the runner (built on first use): one, whatever the threads
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
        for b in range(0, len(texts), self.batch_size):  # one forward per batch: rows run alone
            seqs = [
                [tok.cls_token_id, *tok(text, add_special_tokens=False)["input_ids"][:limit]]
                + [tok.sep_token_id]
                for text in texts[b : b + self.batch_size]
            ]
            ids = np.zeros((len(seqs), max(map(len, seqs))), dtype=np.int64)
            mask = np.zeros_like(ids)
            for i, seq in enumerate(seqs):
                ids[i, : len(seq)], mask[i, : len(seq)] = seq, 1
            hidden = self._forward(ids, mask)
            for i, seq in enumerate(seqs):
                out[b + i] = hidden[i, : len(seq)].mean(axis=0)
        return unit(out)

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Hidden states ``[batch, width, dim]``; each row runs alone at its own length on one
        thread, :func:`~semtoken_rag.encoders.threads.forward_threads` rows at once."""
        self.load()
        lengths = mask.sum(axis=1).astype(np.int64).tolist()
        out = np.zeros((*ids.shape, self.dim), dtype=np.float32)
        run = self._runner()

        def row(i: int) -> None:
            n = lengths[i]
            if n == 0:
                return
            width = -(-n // self.pad_to) * self.pad_to
            seq, seq_mask = np.zeros((1, width), np.int64), np.zeros((1, width), np.int64)
            seq[0, :n], seq_mask[0, :n] = ids[i, :n], 1
            out[i, :n] = run(seq, seq_mask)[0, :n]

        threads.run_parallel(row, len(lengths), threads.forward_threads(int(sum(lengths))))
        return out

    @property
    def model_file(self) -> Path:
        """The int8 model file (exported on first use)."""
        self.load()
        if self.folder is None:  # pragma: no cover - load() sets it
            raise RuntimeError("the export folder is not set")
        return self.folder / export.MODEL_FILE

    def _runner(self) -> Any:
        """The runner: ``run(ids [1, width], mask) -> hidden [1, width, dim]`` on one thread,
        callable from several threads at once once built. It is built, and run once, under a
        lock of the whole process: the runtimes' bindings (pybind11) set up their numpy
        conversion on the first result, and two threads converting a first result at once
        deadlocked (one held the GIL waiting for the set-up, the other the set-up waiting for
        the GIL: a Ray worker hung so on its first parallel forward)."""
        if self._run is None:
            model = self.model_file
            with _BUILDING, self._lock:
                if self._run is None:
                    run = self._make_runner(model)
                    tok = self.load().tokenizer
                    first = np.zeros((1, max(2, self.pad_to)), dtype=np.int64)
                    first[0, :2] = tok.cls_token_id, tok.sep_token_id
                    run(first, (first != 0).astype(np.int64))  # converted on one thread
                    self._run = run
        return self._run

    def _check_runtime(self) -> None:
        try:
            importlib.import_module(self.runtime_module)
        except ImportError as e:
            raise ImportError(
                f"backend={self.backend!r} needs {self.runtime_module}: "
                f"pip install 'semtoken-rag[{self.backend}]'"
            ) from e

    def _make_runner(self, path: Path) -> Any:
        raise NotImplementedError


class OnnxEncoder(RuntimeEncoder):
    """``backend="onnx"``: ONNX Runtime, int8 dynamic quantisation per output channel.

    Example:
        >>> enc = OnnxEncoder()  # doctest: +SKIP
        >>> enc.encode_query(["who won?"]).shape  # doctest: +SKIP
        (1, 384)
    """

    backend: export.Runtime = "onnx"

    def _make_runner(self, path: Path) -> Any:
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1  # concurrent run() calls each take one thread
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

    def _make_runner(self, path: Path) -> Any:
        import openvino as ov

        streams = threads.cores()  # one single-threaded stream per sequence run at once
        compiled = ov.Core().compile_model(
            str(path), "CPU", {"INFERENCE_NUM_THREADS": streams, "NUM_STREAMS": streams}
        )
        idle: queue.SimpleQueue[Any] = queue.SimpleQueue()  # one request per concurrent run

        def run(ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
            try:
                req = idle.get_nowait()
            except queue.Empty:
                req = compiled.create_infer_request()
            try:
                res = req.infer({"input_ids": ids, "attention_mask": mask})
                return np.array(res[compiled.output(0)], dtype=np.float32)
            finally:
                idle.put(req)

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
