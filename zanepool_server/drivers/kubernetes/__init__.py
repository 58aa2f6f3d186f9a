"""The Kubernetes driver package: one API server client, parsers, error translation."""

from zanepool_server.drivers.kubernetes.driver import CAPABILITIES, KubernetesDriver

__all__ = ["CAPABILITIES", "KubernetesDriver"]
