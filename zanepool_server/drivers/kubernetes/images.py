"""Kubernetes images: what each node's kubelet reports it holds (``status.images``).

One resource per (node, image); its key is ``{node}_{id}`` (see ``parse``). The kubelet
reports an image's names (tags and repo digests) and size only: no image id, creation
time, labels or users.

- list: ``GET /api/v1/nodes`` (every node's images from one list);
- get: ``GET /api/v1/nodes/{node}``, then the image whose id matches;
- pull, delete: UNIMPLEMENTED (IMAGES_MANAGED_BY_KUBELET): the API server has no call
  for either; a node's kubelet pulls what its pods need (imagePullPolicy) and removes
  unused images itself (image garbage collection).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NoReturn

from zanepool_server.drivers.kubernetes import parse
from zanepool_server.drivers.kubernetes.client import Kube, path
from zanepool_server.errors import NotFound, Unimplemented
from zanepool_server.model import Credentials, ImageInfo


def _by_kubelet(operation: str) -> NoReturn:
    raise Unimplemented(
        f"Kubernetes has no API call to {operation} an image: each node's kubelet pulls the images "
        "its pods need (see imagePullPolicy) and garbage-collects the ones no pod uses",
        reason="IMAGES_MANAGED_BY_KUBELET",
        metadata={"driver": "kubernetes", "operation": f"images.{operation}"},
    )


class KubeImages:
    """ImageOps over the nodes' reported images."""

    def __init__(self, kube: Kube) -> None:
        self._kube = kube

    async def list(self) -> Sequence[ImageInfo]:
        return [i for raw in await self._kube.items("/api/v1/nodes") for i in parse.images(raw)]

    async def get(self, image_key: str) -> ImageInfo:
        node_id, _ = parse.split_key(image_key, 2, "image", "{node}_{64 hex digits}")
        raw = await self._kube.get(path("api", "v1", "nodes", node_id))
        for image in parse.images(raw):
            if image.image_key == image_key:
                return image
        raise NotFound(
            f"node {node_id} reports no image {image_key}",
            reason="IMAGE_NOT_FOUND",
            metadata={"image": image_key},
        )

    async def pull(self, reference: str, *, node_id: str, credentials: Credentials) -> Sequence[ImageInfo]:
        _by_kubelet("pull")

    async def delete(self, image_key: str, *, force: bool) -> None:
        _by_kubelet("delete")
