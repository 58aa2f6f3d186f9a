"""A pool's credentials -> where and how to reach its API server (an ApiClient).

Credentials are text, never files (the ``Credentials`` message). They come in one of two
forms:

- fields: ``bearer_token``, and/or ``cert_pem`` + ``key_pem`` (TLS client authentication),
  with ``ca_pem`` to verify the server (else the system's CAs);
- ``kubeconfig``: a whole kubeconfig document, of which the current context's cluster
  and user are used. Only what a kubeconfig can carry inline is accepted: ``token``,
  ``client-certificate-data``/``client-key-data``, ``certificate-authority-data``,
  ``tls-server-name``. File references (``certificate-authority``, ``client-certificate``,
  ``client-key``, ``tokenFile``) would read the server's own files, and ``exec`` and
  ``auth-provider`` would run commands on it: they are refused, as are
  ``insecure-skip-tls-verify``, proxies, basic auth and impersonation.

The pool's endpoint is where the driver connects. A kubeconfig whose cluster names
another server is refused (KUBECONFIG_SERVER_MISMATCH) rather than silently overridden:
its credentials were issued for that server, and sending them elsewhere is what a
mistaken endpoint would do. Servers are compared by scheme, host (case-insensitive),
port (443 when absent) and path (without a trailing slash). A kubeconfig with no server
takes the pool's endpoint.

kubernetes_asyncio builds its TLS context from files only, so the PEM texts are written
to private (0600) temporary files for the moment it loads them, and removed at once.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import os
import ssl
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import yaml
from kubernetes_asyncio.client import ApiClient, Configuration

from zanepool_server.errors import InvalidArgument
from zanepool_server.model import Credentials

FIELD = "pool.credentials"
KUBECONFIG_FIELD = f"{FIELD}.kubeconfig"
USER_AGENT = "zanepool"

# Kubeconfig keys that would make the server read its files, run commands, or weaken TLS.
_REFUSED_CLUSTER = {
    "certificate-authority": "a file path: embed the CA as certificate-authority-data",
    "insecure-skip-tls-verify": "TLS verification cannot be turned off",
    "proxy-url": "proxies are not supported",
}
_REFUSED_USER = {
    "client-certificate": "a file path: embed it as client-certificate-data",
    "client-key": "a file path: embed it as client-key-data",
    "tokenFile": "a file path: embed the token as token",
    "exec": "exec credential plugins would run a command on the server",
    "auth-provider": "auth-provider plugins are not supported: give a token",
    "username": "basic authentication is not supported",
    "password": "basic authentication is not supported",
    "as": "impersonation is not supported",
    "as-groups": "impersonation is not supported",
    "as-uid": "impersonation is not supported",
    "as-user-extra": "impersonation is not supported",
}


@dataclass(frozen=True)
class Access:
    """How to reach one API server; ``field`` names where the credentials came from."""

    server: str
    token: str = ""
    ca_pem: str = ""
    cert_pem: str = ""
    key_pem: str = ""
    tls_server_name: str = ""
    field: str = FIELD


def access(endpoint: str, creds: Credentials) -> Access:
    """The access a pool's endpoint and credentials give (a kubeconfig read, when given)."""
    server = endpoint.rstrip("/")
    if creds.kubeconfig:
        return from_kubeconfig(server, creds.kubeconfig)
    return Access(
        server=server,
        token=creds.bearer_token,
        ca_pem=creds.ca_pem,
        cert_pem=creds.cert_pem,
        key_pem=creds.key_pem,
    )


def _bad(why: str, reason: str = "INVALID_KUBECONFIG", **meta: object) -> InvalidArgument:
    return InvalidArgument.field(KUBECONFIG_FIELD, why, reason=reason, metadata=meta)


def _named(doc: Mapping[str, Any], section: str, name: str, inner: str) -> dict[str, Any]:
    """The ``inner`` mapping of the entry called ``name`` in a kubeconfig's ``section`` list."""
    entries = doc.get(section) or []
    if not isinstance(entries, list):
        raise _bad(f"{section} is not a list")
    for entry in entries:
        if isinstance(entry, dict) and entry.get("name") == name:
            value = entry.get(inner) or {}
            if not isinstance(value, dict):
                raise _bad(f"{section}[{name}].{inner} is not a mapping")
            return value
    raise _bad(f"the current context names {section[:-1]} {name!r}, which it does not define")


def _pem(entry: Mapping[str, Any], key: str, where: str) -> str:
    """A ``*-data`` field: base64 of PEM text."""
    value = entry.get(key)
    if not value:
        return ""
    try:
        return base64.b64decode(str(value), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise _bad(f"{where}.{key} is not base64 of PEM text") from None


def same_server(a: str, b: str) -> bool:
    """Whether two API server URLs name the same server (scheme, host, port, path)."""

    def norm(url: str) -> tuple[str, str, int | None, str]:
        parts = urlsplit(url.strip())
        try:
            port = parts.port
        except ValueError:
            port = None
        default = 443 if parts.scheme.lower() == "https" else 80
        return parts.scheme.lower(), (parts.hostname or "").lower(), port or default, parts.path.rstrip("/")

    return norm(a) == norm(b)


def from_kubeconfig(server: str, text: str) -> Access:
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise _bad(f"is not YAML: {str(exc)[:200]}") from None
    if not isinstance(doc, dict):
        raise _bad("is not a kubeconfig document (a mapping with clusters, users and contexts)")
    current = doc.get("current-context")
    if not current or not isinstance(current, str):
        raise _bad("has no current-context: set the context to use")
    context = _named(doc, "contexts", current, "context")
    cluster_name, user_name = context.get("cluster"), context.get("user")
    if not cluster_name:
        raise _bad(f"context {current!r} names no cluster")
    cluster = _named(doc, "clusters", str(cluster_name), "cluster")
    user = _named(doc, "users", str(user_name), "user") if user_name else {}
    for section, entry, refused in (("cluster", cluster, _REFUSED_CLUSTER), ("user", user, _REFUSED_USER)):
        for key, why in refused.items():
            if entry.get(key):
                raise _bad(f"{section} {key}: {why}", "UNSUPPORTED_KUBECONFIG", key=key)
    their_server = str(cluster.get("server") or "")
    if their_server and not same_server(their_server, server):
        raise _bad(
            f"its cluster's server {their_server} is not the pool's endpoint {server}: "
            "make them the same (the credentials are sent to the pool's endpoint)",
            "KUBECONFIG_SERVER_MISMATCH",
            kubeconfig_server=their_server,
            endpoint=server,
        )
    result = Access(
        server=server,
        token=str(user.get("token") or ""),
        ca_pem=_pem(cluster, "certificate-authority-data", "cluster"),
        cert_pem=_pem(user, "client-certificate-data", "user"),
        key_pem=_pem(user, "client-key-data", "user"),
        tls_server_name=str(cluster.get("tls-server-name") or ""),
        field=KUBECONFIG_FIELD,
    )
    if bool(result.cert_pem) != bool(result.key_pem):
        raise _bad("client-certificate-data and client-key-data go together")
    return result


@contextlib.contextmanager
def _private_files(*texts: str) -> Iterator[list[str | None]]:
    """Each non-empty text in a private temporary file (None for an empty one), removed on exit."""
    paths: list[str | None] = []
    try:
        for text in texts:
            if not text:
                paths.append(None)
                continue
            fd, path = tempfile.mkstemp(prefix="zanepool-k8s-")
            paths.append(path)
            with os.fdopen(fd, "w") as f:
                f.write(text.strip() + "\n")
        yield paths
    finally:
        for written in paths:
            if written:
                os.unlink(written)


def api_client(target: Access) -> ApiClient:
    """A kubernetes_asyncio ApiClient for the access (one aiohttp session, closed with it)."""
    if target.ca_pem:
        try:
            ssl.create_default_context(cadata=target.ca_pem)
        except ssl.SSLError as exc:
            raise _field(target, "ca_pem", f"not a PEM CA bundle ({exc.reason})") from None
    cfg = Configuration(host=target.server)
    if target.token:
        cfg.api_key = {"BearerToken": target.token}
        cfg.api_key_prefix = {"BearerToken": "Bearer"}
    cfg.tls_server_name = target.tls_server_name or None
    with _private_files(target.ca_pem, target.cert_pem, target.key_pem) as (ca, cert, key):
        cfg.ssl_ca_cert, cfg.cert_file, cfg.key_file = ca, cert, key
        try:
            client = ApiClient(cfg)
        except ssl.SSLError as exc:
            raise _field(target, "cert_pem", f"not a PEM certificate and its key ({exc.reason})") from None
    client.user_agent = USER_AGENT
    return client


def _field(target: Access, name: str, why: str) -> InvalidArgument:
    field = target.field if target.field == KUBECONFIG_FIELD else f"{target.field}.{name}"
    return InvalidArgument.field(field, why, reason="INVALID_CREDENTIALS")
