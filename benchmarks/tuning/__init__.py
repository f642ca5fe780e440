"""Leave-one-dataset-out tuning of relevance and selection (not shipped).

``features`` caches per-span raw signals of every benchmark item (one encoder pass per
representation and data set), ``evaluate`` selects under a budget from fused scores and scores the
kept text, ``lodo`` picks each method family's constants without the held-out set.
"""
