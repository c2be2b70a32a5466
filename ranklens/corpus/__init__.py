"""Corpora: formats (corpus sources), trec_files (queries, qrels, runs), text_records, chunking,
corpora on disk (index), staged ingestion, embeddings in and out, uploads, texts of documents
the corpus lacks, the demo.
"""
