"""Evaluation: the low-shot protocol over enrollment conditions, the backbone comparison, metrics.json."""
