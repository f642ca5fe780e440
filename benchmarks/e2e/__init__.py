"""End to end: ingest real chunks with the fingerprinter, then retrieve (k = 10) and compress per
question, with and without ingested fingerprints (issue 18).

Corpus and questions: :mod:`benchmarks.e2e.corpus` (NQ passages, HotpotQA paragraphs, CLAPNQ
passages, QMSum turns, TriviaQA lines; questions from the first four). One loaded MiniLM serves
every compressor, embedding model and store.

Ingestion, per framework, timed over the whole corpus:
- LangChain ``InMemoryVectorStore``: *embed only* (``add_documents`` with ``SemTokenEmbeddings``,
  sentence-transformers pooling); *two passes* (``SemTokenFingerprinter.transform_documents``,
  then that ``add_documents``); *one pass* (``SemTokenFingerprinter.add_documents``: the
  embeddings come from the fingerprinting pass).
- LlamaIndex ``VectorStoreIndex``: *embed only* (``IngestionPipeline([SemTokenEmbedding])``, then
  the index); *one pass* (``IngestionPipeline([SemTokenFingerprinter(embed=True)])``, then the
  index). Pipelines run with ``disable_cache=True``, so both time the encoder work, not
  LlamaIndex's node cache.

Query time, per question and store: *retrieve* (k chunks), *encode* (one query encode alone),
*warm* (retrieve + compress to ``--budget`` with the cache written at ingestion, saved, and loaded
read-only in place of a query process), *cold* (the same with no cache: one encoder pass over the
retrieved chunks per question), *compress* (the warm compression alone, on the retrieved chunks).
The stores and caches are reloaded from disk first (``InMemoryVectorStore.dump/load``,
``StorageContext.persist`` / ``load_index_from_storage``). FAISS (``langchain-community``), when
installed, is built from the one-pass vectors and queried the same way.

Run (HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1):
    python -m benchmarks.e2e                              # 10,000 chunks, 200 questions (~30 min)
    python -m benchmarks.e2e --chunks 2000 --questions 200
    python -m benchmarks.e2e --quick                      # a smoke run: 24 chunks, 4 questions
Writes ``benchmarks/results/e2e.json`` and ``e2e.md`` (the section for BENCHMARKS.md); ``--out``.

Modules: :mod:`.corpus` (chunks and questions), :mod:`.frameworks` (the LangChain and LlamaIndex
runs), :mod:`.measuring` (timings, percentiles, the machine), :mod:`.e2e_section` (the Markdown
section), ``__main__`` (the command: arguments, the result file, the targets).
"""
