"""The Search page's pieces: inputs (rankers, k), query sets, result columns and panels.

pages/2_search.py lays them out; every number comes from ranklens (rankers, compare, ann).
"""
