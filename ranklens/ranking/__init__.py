"""Ranking: the model registry, the Ranker protocol and rank_all, recipes, exact and ANN
search, comparing rankings, run files and live endpoints as rankers.
"""
