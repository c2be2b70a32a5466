"""Corpora: formats (readers and writers), chunking, corpora on disk (index), staged
ingestion, embeddings in and out, uploads, texts of documents the corpus lacks, the demo.
"""
