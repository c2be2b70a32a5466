"""The Evaluate page's pieces: its choices, its cached data, and one module per tab.

pages/4_evaluate.py lays them out; every number comes from ranklens (evaluate, stats, labels).
"""
