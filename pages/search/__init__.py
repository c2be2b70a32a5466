"""The Search page: page.py lays out its inputs (rankers, k), query sets, result columns and
panels; every number comes from ranklens (rankers, compare, ann).
"""
