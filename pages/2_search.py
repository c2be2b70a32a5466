"""Search page: one query, up to six rankers side by side, with overlap, cut-offs and HNSW recall.

All ranking and measuring is done by ranklens.rankers; components.search_view only shows it.
"""

from components import routing, search_view

routing.require_app("pages/2_search.py")
search_view.render()
