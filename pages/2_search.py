"""Search page: one query, up to six rankers side by side, with overlap, cut-offs and HNSW recall.

All ranking and measuring is done by ranklens.rankers; components.search_view only shows it.
"""

from components import search_view

search_view.render()
