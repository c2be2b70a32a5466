"""Machine judges measured against people: cross-encoder and LLM suggestions, prompt
versions, calibration on the team's labels, few-shot examples, ensembles, bulk review.
"""
