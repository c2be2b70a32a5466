"""The Evaluate page: page.py lays out its choices, its cached data, the summary and one
`<what>_tab.py` per tab; every number comes from ranklens (measures, statistics, qrels sources).
"""
