"""The Kubernetes driver: a cluster through its API server (kubernetes_asyncio).

Endpoint: ``https://host[:port]``; credentials: a bearer token, a client certificate, a
CA bundle, or a kubeconfig (see ``config``). Library errors are translated in
``errors.translate`` only. The cluster's identity (``cluster_id``) is the UID of its
``kube-system`` namespace: it is made once, when the cluster is, and survives changes of
endpoint, certificates and nodes.

A snapshot reads ``/version``, the ``kube-system`` namespace, every node and every pod at
once: a registration fails as the first of them fails (bad credentials are refused by
``/version`` already; a user that may not read namespaces, nodes or pods fails with
PERMISSION_DENIED).

Networks: Kubernetes has no Docker-style network object (every pod joins the one
cluster network, and a NetworkPolicy is a set of traffic rules, not a network one
attaches to): NetworkService is UNIMPLEMENTED with reason NO_NETWORK_OBJECT. Logs are
read from the pod log endpoint (``logs``); events are the cluster's Event objects (``events``).
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

from zanepool_server.drivers.base import (
    ContainerOps,
    EventOps,
    ImageOps,
    LogOps,
    NetworkOps,
    NodeOps,
    VolumeOps,
)
from zanepool_server.drivers.kubernetes import parse
from zanepool_server.drivers.kubernetes.client import Kube
from zanepool_server.drivers.kubernetes.containers import KubeContainers
from zanepool_server.drivers.kubernetes.errors import not_kubernetes
from zanepool_server.drivers.kubernetes.events import KubeEvents
from zanepool_server.drivers.kubernetes.images import KubeImages
from zanepool_server.drivers.kubernetes.logs import KubeLogs
from zanepool_server.drivers.kubernetes.nodes import KubeNodes
from zanepool_server.drivers.kubernetes.volumes import KubeVolumes
from zanepool_server.drivers.unbuilt import Unbuilt
from zanepool_server.model import Capability, ClusterSnapshot, Credentials, Driver

#: What the Kubernetes driver supports: RemoveNode deletes a Node object, volumes are
#: claims. No start/stop (no stopped pod), no ImportNode (kubelet bootstrap), no image
#: pull or delete (the kubelet's), no networks. Logs: the pod log endpoint.
CAPABILITIES: frozenset[Capability] = frozenset(
    {Capability.NODE_REMOVE, Capability.VOLUMES, Capability.LOGS, Capability.EVENTS}
)

NO_NETWORKS = (
    "Kubernetes has no Docker-style network object: every pod joins the cluster's one pod "
    "network, and a NetworkPolicy is a set of traffic rules, not a network to create or attach to"
)


class KubernetesDriver:
    """A connection to one cluster's API server."""

    kind = Driver.KUBERNETES
    capabilities = CAPABILITIES

    def __init__(self, endpoint: str, credentials: Credentials) -> None:
        self.endpoint = endpoint
        self.kube = Kube(endpoint, credentials)
        self._minor: int | None = None
        self.nodes: NodeOps = KubeNodes(self)
        self.containers: ContainerOps = KubeContainers(self)
        self.images: ImageOps = KubeImages(self.kube)
        self.volumes: VolumeOps = KubeVolumes(self.kube)
        self.networks: NetworkOps = cast(
            NetworkOps, Unbuilt("kubernetes", "networks", reason="NO_NETWORK_OBJECT", why=NO_NETWORKS)
        )
        self.logs: LogOps = KubeLogs(self)
        self.events: EventOps = KubeEvents(self.kube)

    async def snapshot(self) -> ClusterSnapshot:
        results = await asyncio.gather(
            self.kube.get("/version"),
            self.kube.get("/api/v1/namespaces/kube-system"),
            self.kube.items("/api/v1/nodes"),
            self.kube.items("/api/v1/pods"),
            return_exceptions=True,
        )
        for result in results:
            if isinstance(result, BaseException):
                raise result
        version, namespace, nodes, pods = cast(list[Any], results)
        self._check_version(version)
        summaries = parse.nodes(nodes, pods)
        return ClusterSnapshot(
            cluster_id=str(parse.dig(namespace, "metadata").get("uid", "")),
            info=parse.info(version, nodes, summaries, pods),
            nodes=summaries,
        )

    def _check_version(self, version: dict[str, Any]) -> None:
        if not version.get("gitVersion"):
            raise not_kubernetes(self.endpoint, "GET /version", "no gitVersion in its answer")
        minor = parse.version_number(version, "minor")
        self._minor = int(minor) if minor else self._minor

    async def server_minor(self) -> int:
        """The server's minor version (read once): which API versions it serves."""
        if self._minor is None:
            self._check_version(await self.kube.get("/version"))
        return self._minor or 0

    async def aclose(self) -> None:
        await self.kube.aclose()
