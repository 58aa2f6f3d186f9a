"""Zane Pool server: one gRPC control plane over many container clusters.

Layers, top to bottom (checked by import-linter, see pyproject.toml):

    app        wiring, configuration, lifecycle, signals
    api        gRPC servicers: validate, call the domain, convert; the only users of generated code
    domain     pools, the health monitor, filters and paging
    drivers    one cluster kind each (Swarm, Kubernetes); nothing of gRPC
    store      MongoDB (PyMongo's async API) and the embedded engine; nothing of drivers
    model, errors, deadline   plain data, the domain error tree, the per-call deadline
"""
