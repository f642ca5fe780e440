"""Tuning over data sets and renderings, through the library itself (not shipped).

``layouts`` scores variants of the real compressor and the peers on every visible set in every
rendering and chooses leave-one-dataset-out; ``calibrate`` fits the span-score calibration the
same way. (The feature-based harness that scored copies of the library's stages was retired in
issue 27: see ``FINDINGS.md``.)
"""
