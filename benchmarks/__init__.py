"""The semtoken-rag benchmark harness (not shipped): real data, real peers, generated report.

Run ``python -m benchmarks.run --suite quick`` (CI smoke test) or ``--suite full`` (by hand).
"""
