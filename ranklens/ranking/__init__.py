"""Ranking: the model registry, the Ranker protocol and rank_all, BM25 and dense (retrievers),
fusion and rerank (composites), recipes, exact and ANN search, comparing rankings, run files and
live endpoints as rankers.
"""
