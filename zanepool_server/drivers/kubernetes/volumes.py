"""Kubernetes volumes: PersistentVolumeClaims (namespaced) and PersistentVolumes.

A Volume's ``kind`` says which it is (``persistentvolumeclaim`` or ``persistentvolume``);
its key is ``pvc_{namespace}_{name}`` or ``pv_{name}`` (see ``parse``). ``driver`` is the
storage class, ``status`` the phase (Pending, Bound, ...), ``capacity_bytes`` the bound
capacity (a claim's request until it is bound).

- list: ``GET /api/v1/persistentvolumeclaims`` (every namespace) and
  ``GET /api/v1/persistentvolumes`` at once;
- get: the one object;
- create: a claim, ``POST /api/v1/namespaces/{namespace}/persistentvolumeclaims`` (namespace
  ``default`` unless given), named by the volume id (a DNS subdomain), with
  ``capacity_bytes`` as its storage request (required), ``access_modes`` (default
  ReadWriteOnce) and ``driver`` as its storage class (the cluster's default class when
  empty). A claim is bound by the cluster, not placed on a node, and takes no driver
  options: ``node`` and ``options`` are refused. ``validate_only`` is the API server's
  dry run (``dryRun=All``);
- delete: a claim, ``DELETE`` (the cluster keeps a claim in use until its pods end:
  ``force`` changes nothing). A PersistentVolume is not deleted through Zane Pool
  (UNIMPLEMENTED PERSISTENT_VOLUME_READ_ONLY): it is the cluster's storage, made by an
  administrator or a provisioner, and its reclaim policy decides what happens to it once
  its claim is deleted.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from typing import Any

from zanepool_server.drivers.kubernetes import parse
from zanepool_server.drivers.kubernetes.client import Kube, path
from zanepool_server.drivers.kubernetes.pods import namespace_of
from zanepool_server.errors import AlreadyExists, InvalidArgument, Unimplemented
from zanepool_server.model import VolumeInfo, VolumeSpec

ACCESS_MODES = ("ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def locate(volume_key: str) -> tuple[str, str]:
    """A volume key -> (its API path, its kind)."""
    parts = volume_key.split(parse.SEP)
    if all(parts) and parts[0] == "pv" and len(parts) == 2:
        return path("api", "v1", "persistentvolumes", parts[1]), parse.PERSISTENT_VOLUME
    if all(parts) and parts[0] == "pvc" and len(parts) == 3:
        return path("api", "v1", "namespaces", parts[1], "persistentvolumeclaims", parts[2]), parse.CLAIM
    raise parse.bad_key(volume_key, "volume", "pvc_{namespace}_{name} or pv_{name}")


def claim_manifest(name: str, spec: VolumeSpec) -> dict[str, Any]:
    """The PersistentVolumeClaim a CreateVolume asks for (its fields checked first)."""
    if not _DNS_SUBDOMAIN.match(name) or len(name) > 253:
        raise InvalidArgument.field(
            "volume_id",
            "a claim's name is a DNS subdomain: lower-case [a-z0-9-] labels joined by dots",
            reason="INVALID_ID",
            metadata={"value": name[:200]},
        )
    namespace = namespace_of(spec.namespace, "volume.namespace")
    for field, value, why in (
        ("node", spec.node_id, "a claim is bound by the cluster, not placed on a node"),
        ("options", spec.options, "a claim takes no driver options (the storage class holds them)"),
    ):
        if value:
            raise InvalidArgument.field(f"volume.{field}", why, reason="UNSUPPORTED_FIELD")
    if spec.capacity_bytes <= 0:
        raise InvalidArgument.field(
            "volume.capacity_bytes", "a claim requests a capacity: give it in bytes", reason="MISSING_FIELD"
        )
    modes = list(spec.access_modes) or ["ReadWriteOnce"]
    for i, mode in enumerate(modes):
        if mode not in ACCESS_MODES:
            raise InvalidArgument.field(
                f"volume.access_modes[{i}]", f"one of {', '.join(ACCESS_MODES)}", reason="INVALID_ACCESS_MODE"
            )
    body: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": name, "namespace": namespace, "labels": dict(spec.labels)},
        "spec": {"accessModes": modes, "resources": {"requests": {"storage": str(spec.capacity_bytes)}}},
    }
    if spec.driver:
        body["spec"]["storageClassName"] = spec.driver
    return body


class KubeVolumes:
    """VolumeOps over claims and persistent volumes."""

    def __init__(self, kube: Kube) -> None:
        self._kube = kube

    async def list(self) -> Sequence[VolumeInfo]:
        claims, volumes = await asyncio.gather(
            self._kube.items("/api/v1/persistentvolumeclaims"), self._kube.items("/api/v1/persistentvolumes")
        )
        return [*(parse.claim(c) for c in claims), *(parse.persistent_volume(v) for v in volumes)]

    async def get(self, volume_key: str) -> VolumeInfo:
        url, kind = locate(volume_key)
        raw = await self._kube.get(url)
        return parse.claim(raw) if kind == parse.CLAIM else parse.persistent_volume(raw)

    async def create(self, name: str, spec: VolumeSpec, *, validate_only: bool) -> VolumeInfo:
        body = claim_manifest(name, spec)
        namespace = body["metadata"]["namespace"]
        taken = AlreadyExists(
            f"namespace {namespace} has a claim named {name} already",
            reason="VOLUME_ALREADY_EXISTS",
            metadata={"volume": parse.key("pvc", namespace, name)},
        )
        url = path("api", "v1", "namespaces", namespace, "persistentvolumeclaims")
        return parse.claim(await self._kube.create(url, namespace, body, dry_run=validate_only, taken=taken))

    async def delete(self, volume_key: str, *, force: bool) -> None:
        url, kind = locate(volume_key)
        if kind == parse.PERSISTENT_VOLUME:
            raise Unimplemented(
                "a PersistentVolume is the cluster's storage, made by an administrator or a provisioner: "
                "delete its claim, and its reclaim policy decides what becomes of it",
                reason="PERSISTENT_VOLUME_READ_ONLY",
                metadata={"driver": "kubernetes", "volume": volume_key},
            )
        await self._kube.request("DELETE", url)
