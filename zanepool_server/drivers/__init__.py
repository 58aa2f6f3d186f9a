"""Cluster drivers: one module per cluster kind, each knowing nothing of gRPC or the store."""
