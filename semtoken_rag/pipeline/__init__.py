"""The stages of :meth:`SemTokenCompressor.compress`, one module each, in the order they run.

============== ========================================================================
``segment``    documents -> pieces with exact character offsets (sentences, clauses)
``fingerprint``  pieces + encoder token states -> :class:`DocFingerprints` (pooling, entropy)
``spans``      per-document fingerprints -> one :class:`SpanTable` (granularity by entropy)
``score``      primitives: content terms, BM25, exact matches, semantic entropy, normalising
``relevance``  the query's relevance per span and per document (signals and their fusion)
``merge``      redundancy clusters of near-identical spans (kept once)
``select``     the spans to keep under the budget (coverage greedy, knapsack)
``assemble``   kept spans -> :class:`Span` objects and per-document texts within the budget
============== ========================================================================

Stages are pure: numpy and strings in, numpy and strings out. None of them touches the
fingerprint cache, loads a model or prints; :mod:`semtoken_rag.compressor` wires them up.
"""
