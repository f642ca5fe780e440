"""Encoder backends, threads, scale and a 1M-span cache (issue 14), each part in a fresh process.

Parts (``python -m benchmarks.speed PART ...``; ``all`` runs every part, each in its own process):

- ``backend NAME``: for one backend (``torch``, ``onnx``, ``openvino``): load time (export
  reused), encoder tokens/s over NQ-20 documents, cold and warm ms per NQ-20 call (warm: every
  fingerprint cached, a query never seen), and answer recall per set at 4x/8x/16x
  (``benchmarks.datasets`` loaders and the runner's metrics, small limits).
- ``threads NAME``: 16 threads sharing one compressor against one thread, on the same calls
  (cold: no cache), total throughput and whether the results are identical; also with
  ``threads=cores`` fixed (what every call did before: each forward on all cores).
- ``scale NAME``: ``benchmarks.measure`` at each size up to 1M tokens, each size in a fresh
  process that reports its own peak RSS; the log-log slope.
- ``cache``: a persistent cache of 1M spans (real NQ-20 fingerprints plus synthetic documents
  under the same namespace): save, load (fresh process), lookup, warm call, RSS.

Run:  HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 ./run python -m benchmarks.speed all
Writes ``benchmarks/results/speed.json`` and ``benchmarks/results/speed.md`` (paste into
BENCHMARKS.md); ``--quick`` uses smaller limits.

Modules: :mod:`.parts` (the parts), :mod:`.speed_section` (the Markdown section;
``python -m benchmarks.speed.speed_section benchmarks/results/speed.json`` re-renders it),
``__main__`` (the command: each part in its own process, the result file).
"""
