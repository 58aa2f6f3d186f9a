"""The Kubernetes test bed (tests/testbed/k8s): its API server, credentials and node."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tests.support.testbed import Testbed
from zanepool.v1 import resources_pb2 as pb


@dataclass(frozen=True)
class KubeBed:
    """A v1.20 control plane with one real node; every credential as text."""

    api: str
    ca_pem: str
    token: str
    readonly_token: str  # a user without any RBAC binding: 403 on everything but discovery
    cert_pem: str  # an admin client certificate (system:masters)
    key_pem: str
    kubeconfig_path: str  # the test bed's own kubeconfig (its CA is a file path)
    node: str

    def credentials(self, **fields: str) -> pb.Credentials:
        return pb.Credentials(**({"ca_pem": self.ca_pem} | fields))

    def pool(self, **credentials: str) -> pb.Pool:
        """A Kubernetes pool message for the test bed (the admin token unless told otherwise)."""
        creds = credentials or {"bearer_token": self.token}
        return pb.Pool(driver=pb.DRIVER_KUBERNETES, endpoint=self.api, credentials=self.credentials(**creds))

    def kubeconfig(self, *, server: str | None = None, inline: bool = True) -> str:
        """The test bed's kubeconfig, its CA embedded (``inline``) or left a file path."""
        doc: dict[str, Any] = yaml.safe_load(Path(self.kubeconfig_path).read_text())
        cluster = doc["clusters"][0]["cluster"]
        if inline:
            cluster.pop("certificate-authority", None)
            cluster["certificate-authority-data"] = base64.b64encode(self.ca_pem.encode()).decode()
        if server is not None:
            cluster["server"] = server
        return str(yaml.safe_dump(doc))


def load(tb: Testbed) -> KubeBed:
    def text(name: str) -> str:
        return Path(tb.require(name)).read_text()

    return KubeBed(
        api=tb.require("ZANEPOOL_TB_K8S_API"),
        ca_pem=text("ZANEPOOL_TB_K8S_CA"),
        token=tb.require("ZANEPOOL_TB_K8S_TOKEN"),
        readonly_token=tb.require("ZANEPOOL_TB_K8S_READONLY_TOKEN"),
        cert_pem=text("ZANEPOOL_TB_K8S_CLIENT_CERT"),
        key_pem=text("ZANEPOOL_TB_K8S_CLIENT_KEY"),
        kubeconfig_path=tb.require("ZANEPOOL_TB_K8S_KUBECONFIG"),
        node=tb.require("ZANEPOOL_TB_K8S_NODE"),
    )
