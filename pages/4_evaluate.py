"""Evaluate page: score rankers against relevance labels, with intervals, tests and exports.

All numbers come from ranklens.evaluate; components/evaluate_view.py lays them out.
"""

from components import evaluate_view, routing

routing.require_app("pages/4_evaluate.py")
evaluate_view.page()
