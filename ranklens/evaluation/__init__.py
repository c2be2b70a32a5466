"""Evaluation: measures through ir_measures, statistics (scipy), which qrels an
evaluation uses, fusion tuning, snapshots and the regression gate, preferences, reports.
"""
