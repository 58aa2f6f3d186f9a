"""Kubernetes credentials: kubeconfig reading, the validation rules, and error translation."""

from __future__ import annotations

import base64
import json
import ssl
from typing import Any

import aiohttp
import pytest
import yaml
from kubernetes_asyncio.client.exceptions import ApiException

from zanepool_server.domain import validation
from zanepool_server.drivers.kubernetes import config, errors, volumes
from zanepool_server.errors import (
    Aborted,
    AlreadyExists,
    ClusterUnavailable,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    ResourceExhausted,
    Unauthenticated,
    ZanePoolError,
)
from zanepool_server.model import Credentials, Driver, VolumeSpec

SERVER = "https://10.0.0.1:6443"
CA = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def kubeconfig(cluster: dict[str, Any] | None = None, user: dict[str, Any] | None = None, **doc: Any) -> str:
    return yaml.safe_dump(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {"name": "other", "cluster": {"server": "https://elsewhere:6443"}},
                {
                    "name": "c",
                    "cluster": {"server": SERVER, "certificate-authority-data": b64(CA)} | (cluster or {}),
                },
            ],
            "users": [{"name": "u", "user": {"token": "abc"} | (user or {})}],
            "contexts": [{"name": "ctx", "context": {"cluster": "c", "user": "u"}}],
            "current-context": "ctx",
        }
        | doc
    )


def test_fields_give_access() -> None:
    access = config.access(SERVER + "/", Credentials(bearer_token="t", ca_pem=CA))
    assert access == config.Access(server=SERVER, token="t", ca_pem=CA)


def test_kubeconfig_current_context() -> None:
    access = config.access(
        SERVER,
        Credentials(
            kubeconfig=kubeconfig(user={"client-certificate-data": b64("C"), "client-key-data": b64("K")})
        ),
    )
    assert access.server == SERVER and access.token == "abc" and access.ca_pem == CA
    assert (access.cert_pem, access.key_pem) == ("C", "K") and access.field == config.KUBECONFIG_FIELD


@pytest.mark.parametrize(
    ("server", "same"),
    [
        ("https://10.0.0.1:6443/", True),
        ("HTTPS://10.0.0.1:6443", True),
        ("https://10.0.0.1:443", False),
        ("https://10.0.0.2:6443", False),
    ],
)
def test_server_comparison(server: str, same: bool) -> None:
    assert config.same_server(server, SERVER) is same
    assert config.same_server("https://api.example", "https://API.example:443/")


@pytest.mark.parametrize(
    ("text", "reason", "says"),
    [
        (kubeconfig(cluster={"server": "https://10.0.0.9:6443"}), "KUBECONFIG_SERVER_MISMATCH", "10.0.0.9"),
        (
            kubeconfig(cluster={"certificate-authority": "/etc/ca.crt"}),
            "UNSUPPORTED_KUBECONFIG",
            "certificate-authority",
        ),
        (kubeconfig(cluster={"insecure-skip-tls-verify": True}), "UNSUPPORTED_KUBECONFIG", "verification"),
        (kubeconfig(user={"client-key": "/root/.kube/key"}), "UNSUPPORTED_KUBECONFIG", "client-key"),
        (kubeconfig(user={"exec": {"command": "rm"}}), "UNSUPPORTED_KUBECONFIG", "run a command"),
        (kubeconfig(user={"tokenFile": "/etc/shadow"}), "UNSUPPORTED_KUBECONFIG", "tokenFile"),
        (kubeconfig(**{"current-context": "nope"}), "INVALID_KUBECONFIG", "'nope'"),
        (kubeconfig(**{"current-context": ""}), "INVALID_KUBECONFIG", "current-context"),
        (kubeconfig(cluster={"certificate-authority-data": "!!"}), "INVALID_KUBECONFIG", "base64"),
        (kubeconfig(user={"client-certificate-data": b64("C")}), "INVALID_KUBECONFIG", "go together"),
        ("clusters: [", "INVALID_KUBECONFIG", "not YAML"),
        ("just text", "INVALID_KUBECONFIG", "not a kubeconfig"),
    ],
)
def test_kubeconfig_refusals(text: str, reason: str, says: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        config.access(SERVER, Credentials(kubeconfig=text))
    assert err.value.reason == reason and says in err.value.message
    assert err.value.violations[0].field == "pool.credentials.kubeconfig"


def test_kubeconfig_without_a_server_takes_the_endpoint() -> None:
    text = kubeconfig(cluster={"server": ""})
    assert config.access(SERVER, Credentials(kubeconfig=text)).server == SERVER


@pytest.mark.parametrize(
    ("creds", "reason"),
    [
        (Credentials(kubeconfig="x", bearer_token="t"), "CONFLICTING_CREDENTIALS"),
        (Credentials(kubeconfig="x", ca_pem=CA), "CONFLICTING_CREDENTIALS"),
        (Credentials(bearer_token="two words"), "INVALID_CREDENTIALS"),
        (Credentials(bearer_token="line\nbreak"), "INVALID_CREDENTIALS"),
        (Credentials(cert_pem=CA), "INVALID_CREDENTIALS"),
    ],
)
def test_validation_rules(creds: Credentials, reason: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        validation.credentials(Driver.KUBERNETES, SERVER, creds)
    assert err.value.reason == reason


def test_validation_accepts_token_certificate_and_ca() -> None:
    creds = Credentials(bearer_token="t0k3n.x-y_z", cert_pem=CA, key_pem="-----BEGIN KEY-----", ca_pem=CA)
    assert validation.credentials(Driver.KUBERNETES, SERVER, creds) == creds


async def test_bad_pem_is_named() -> None:
    with pytest.raises(InvalidArgument) as err:
        config.api_client(config.Access(server=SERVER, ca_pem=CA))
    assert err.value.violations[0].field == "pool.credentials.ca_pem"


# --- error translation -------------------------------------------------------------------------


def api_exception(status: int, reason: str = "", message: str = "m") -> ApiException:
    exc = ApiException(status=status, reason="Reason")
    exc.body = json.dumps(
        {"kind": "Status", "status": "Failure", "reason": reason, "message": message, "code": status}
    )
    return exc


@pytest.mark.parametrize(
    ("status", "reason", "kind", "domain_reason"),
    [
        (401, "Unauthorized", Unauthenticated, "CLUSTER_UNAUTHENTICATED"),
        (403, "Forbidden", PermissionDenied, "CLUSTER_PERMISSION_DENIED"),
        (404, "NotFound", NotFound, "CLUSTER_OBJECT_NOT_FOUND"),
        (409, "AlreadyExists", AlreadyExists, "NAME_IN_USE"),
        (409, "Conflict", Aborted, "CONCURRENT_MODIFICATION"),
        (422, "Invalid", InvalidArgument, "CLUSTER_REJECTED_REQUEST"),
        (429, "TooManyRequests", ResourceExhausted, "CLUSTER_TOO_MANY_REQUESTS"),
        (405, "MethodNotAllowed", FailedPrecondition, "CLUSTER_REFUSED_METHOD"),
        (500, "InternalError", ClusterUnavailable, "CLUSTER_ERROR"),
    ],
)
def test_api_errors(status: int, reason: str, kind: type[ZanePoolError], domain_reason: str) -> None:
    error = errors.api_error(api_exception(status, reason), SERVER, "GET /x")
    assert type(error) is kind and error.reason == domain_reason
    assert error.metadata["k8s_status"] == str(status) and error.metadata["k8s_reason"] == reason


def test_translate_library_failures() -> None:
    cases: list[tuple[BaseException, type[ZanePoolError], str]] = [
        (TimeoutError(), ClusterUnavailable, "CLUSTER_TIMEOUT"),
        (ConnectionRefusedError(111, "refused"), ClusterUnavailable, "CLUSTER_UNREACHABLE"),
        (ssl.SSLError(1, "[SSL] wrong version number"), Unauthenticated, "CLUSTER_TLS_FAILED"),
        (aiohttp.ClientPayloadError("truncated"), FailedPrecondition, "NOT_A_KUBERNETES_API"),
        (api_exception(401), Unauthenticated, "CLUSTER_UNAUTHENTICATED"),
    ]
    for raised, kind, reason in cases:
        with pytest.raises(kind) as err, errors.translate(SERVER, "GET /version"):
            raise raised
        assert err.value.reason == reason, raised


def test_volume_keys_and_claims() -> None:
    assert volumes.locate("pvc_ns1_data") == (
        "/api/v1/namespaces/ns1/persistentvolumeclaims/data",
        "persistentvolumeclaim",
    )
    assert volumes.locate("pv_pv-1") == ("/api/v1/persistentvolumes/pv-1", "persistentvolume")
    for bad in ("pv_a_b", "pvc_ns", "x_ns_a", "data"):
        with pytest.raises(InvalidArgument):
            volumes.locate(bad)
    body = volumes.claim_manifest("data", VolumeSpec(capacity_bytes=2**30, namespace="ns1", driver="fast"))
    assert body["metadata"] == {"name": "data", "namespace": "ns1", "labels": {}}
    assert body["spec"] == {
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": str(2**30)}},
        "storageClassName": "fast",
    }
    for spec, name, reason in (
        (VolumeSpec(), "data", "MISSING_FIELD"),
        (VolumeSpec(capacity_bytes=1, node_id="n"), "data", "UNSUPPORTED_FIELD"),
        (VolumeSpec(capacity_bytes=1, options={"o": "1"}), "data", "UNSUPPORTED_FIELD"),
        (VolumeSpec(capacity_bytes=1, access_modes=("ReadWriteSometimes",)), "data", "INVALID_ACCESS_MODE"),
        (VolumeSpec(capacity_bytes=1), "Data_1", "INVALID_ID"),
    ):
        with pytest.raises(InvalidArgument) as err:
            volumes.claim_manifest(name, spec)
        assert err.value.reason == reason
