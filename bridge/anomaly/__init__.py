"""Anomaly detection: online detectors that follow vmanomaly's score convention.

``anomaly_score`` in [0, 1] is normal and above 1 is anomalous; every detector also reports
its expectation ``yhat`` and the band ``yhat_lower``..``yhat_upper``. Detectors keep per-series
state that serialises to JSON, so a scheduler can persist them across restarts.
"""
