"""Persistence: MongoDB through PyMongo's async API, and the embedded engine."""
