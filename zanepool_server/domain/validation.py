"""Checks of names, ids, labels and endpoints: every bad input gets its own reason."""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import urlsplit

from zanepool_server.errors import InvalidArgument
from zanepool_server.model import Credentials, Driver

POOL_ID = re.compile(r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")
_LABEL_NAME = re.compile(r"^[a-z0-9]([-_.a-z0-9]{0,61}[a-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$")
MAX_LABELS = 64
MAX_LABEL_VALUE = 256
MAX_DISPLAY_NAME = 256
MAX_ENDPOINT = 2048
MAX_PAGE_SIZE = 1000
DEFAULT_PAGE_SIZE = 50


def pool_id(value: str, field: str = "pool_id") -> str:
    if not value:
        raise InvalidArgument.field(field, "is required", reason="MISSING_FIELD")
    if not POOL_ID.match(value):
        raise InvalidArgument.field(
            field,
            "must be an RFC 1034 label: 1-63 characters of [a-z0-9-], starting with a letter, "
            "not ending with a hyphen",
            reason="INVALID_POOL_ID",
            metadata={"value": value[:100]},
        )
    return value


def pool_name(value: str, field: str = "name") -> str:
    """``pools/{pool}`` -> ``{pool}``."""
    if not value:
        raise InvalidArgument.field(field, "is required", reason="MISSING_FIELD")
    prefix, _, rest = value.partition("/")
    if prefix != "pools" or not rest or "/" in rest:
        raise InvalidArgument.field(
            field, "must be a pool name, pools/{pool}", reason="INVALID_NAME", metadata={"value": value[:100]}
        )
    if rest == "-":
        raise InvalidArgument.field(
            field,
            "pools/- names every pool; this call takes one",
            reason="WILDCARD_NOT_ALLOWED",
            metadata={"value": value},
        )
    if not POOL_ID.match(rest):
        raise InvalidArgument.field(
            field,
            "the pool id is not an RFC 1034 label",
            reason="INVALID_NAME",
            metadata={"value": value[:100]},
        )
    return rest


def labels(values: Mapping[str, str], field: str = "pool.labels") -> dict[str, str]:
    if len(values) > MAX_LABELS:
        raise InvalidArgument.field(
            field, f"at most {MAX_LABELS} labels", reason="TOO_MANY_LABELS", metadata={"count": len(values)}
        )
    for key, value in values.items():
        label_key(key, field)
        if len(value) > MAX_LABEL_VALUE:
            raise InvalidArgument.field(
                f"{field}[{key}]",
                f"a value has at most {MAX_LABEL_VALUE} characters",
                reason="LABEL_VALUE_TOO_LONG",
                metadata={"key": key},
            )
    return dict(values)


def label_key(key: str, field: str = "pool.labels") -> str:
    prefix, _, name = key.rpartition("/")
    if not _LABEL_NAME.match(name) or (prefix and (len(prefix) > 253 or not _DNS_SUBDOMAIN.match(prefix))):
        raise InvalidArgument.field(
            f"{field}[{key[:63]}]",
            "a key is 1-63 characters of [a-z0-9_.-] starting and ending with "
            "[a-z0-9], optionally prefixed by a DNS subdomain and a slash",
            reason="INVALID_LABEL_KEY",
            metadata={"key": key[:100]},
        )
    return key


def display_name(value: str, field: str = "pool.display_name") -> str:
    if len(value) > MAX_DISPLAY_NAME:
        raise InvalidArgument.field(
            field, f"at most {MAX_DISPLAY_NAME} characters", reason="DISPLAY_NAME_TOO_LONG"
        )
    if any(ord(c) < 32 for c in value):
        raise InvalidArgument.field(field, "must not hold control characters", reason="INVALID_DISPLAY_NAME")
    return value


def endpoint(driver: Driver, value: str, field: str = "pool.endpoint") -> str:
    if not value:
        raise InvalidArgument.field(field, "is required", reason="MISSING_FIELD")
    if len(value) > MAX_ENDPOINT or any(c.isspace() for c in value):
        raise InvalidArgument.field(
            field, "is not a URL", reason="INVALID_ENDPOINT", metadata={"value": value[:100]}
        )
    try:
        url = urlsplit(value)
        port = url.port
    except ValueError as exc:
        raise InvalidArgument.field(
            field, f"is not a URL: {exc}", reason="INVALID_ENDPOINT", metadata={"value": value[:100]}
        ) from None
    schemes = ("unix", "tcp") if driver is Driver.SWARM else ("https",)
    if url.scheme not in schemes:
        want = " or ".join(f"{s}://" for s in schemes)
        raise InvalidArgument.field(
            field,
            f"a {driver.value} endpoint starts with {want}",
            reason="UNSUPPORTED_ENDPOINT_SCHEME",
            metadata={"scheme": url.scheme},
        )
    if url.query or url.fragment or url.username or url.password:
        raise InvalidArgument.field(
            field,
            "must not carry a query, fragment or user",
            reason="INVALID_ENDPOINT",
            metadata={"value": value[:100]},
        )
    if url.scheme == "unix":
        if url.netloc or not url.path.startswith("/") or url.path == "/":
            raise InvalidArgument.field(
                field,
                "a unix endpoint is unix:///absolute/path.sock",
                reason="INVALID_ENDPOINT",
                metadata={"value": value[:100]},
            )
        return value
    if not url.hostname:
        raise InvalidArgument.field(
            field, "names no host", reason="INVALID_ENDPOINT", metadata={"value": value[:100]}
        )
    if url.scheme == "tcp" and (port is None or url.path not in ("", "/")):
        raise InvalidArgument.field(
            field,
            "a tcp endpoint is tcp://host:port",
            reason="INVALID_ENDPOINT",
            metadata={"value": value[:100]},
        )
    return value


def credentials(
    driver: Driver, endpoint_url: str, creds: Credentials, field: str = "pool.credentials"
) -> Credentials:
    if not creds.is_set():
        return creds
    if driver is Driver.SWARM:
        if creds.bearer_token or creds.kubeconfig:
            raise InvalidArgument.field(
                field,
                "a Swarm pool takes TLS credentials only (ca_pem, cert_pem, key_pem)",
                reason="UNSUPPORTED_CREDENTIALS",
            )
        if not endpoint_url.startswith("tcp://"):
            raise InvalidArgument.field(
                field, "TLS credentials need a tcp:// endpoint", reason="UNSUPPORTED_CREDENTIALS"
            )
    if driver is Driver.KUBERNETES:
        _kubernetes_credentials(creds, field)
    if bool(creds.cert_pem) != bool(creds.key_pem):
        raise InvalidArgument.field(field, "cert_pem and key_pem go together", reason="INVALID_CREDENTIALS")
    for name in ("ca_pem", "cert_pem", "key_pem"):
        text = getattr(creds, name)
        if text and "-----BEGIN " not in text:
            raise InvalidArgument.field(f"{field}.{name}", "is not PEM", reason="INVALID_CREDENTIALS")
    return creds


MAX_TOKEN = 16 * 1024
MAX_KUBECONFIG = 1024 * 1024


def _kubernetes_credentials(creds: Credentials, field: str) -> None:
    """A kubeconfig comes alone (it carries its own user and CA; the driver reads it); a
    bearer token is one line of printable characters."""
    if creds.kubeconfig and (creds.bearer_token or creds.ca_pem or creds.cert_pem or creds.key_pem):
        raise InvalidArgument.field(
            field,
            "a kubeconfig carries its own user and CA: give it alone, or give the other fields without it",
            reason="CONFLICTING_CREDENTIALS",
        )
    if len(creds.kubeconfig) > MAX_KUBECONFIG:
        raise InvalidArgument.field(
            f"{field}.kubeconfig", f"at most {MAX_KUBECONFIG} characters", reason="INVALID_CREDENTIALS"
        )
    token = creds.bearer_token
    if len(token) > MAX_TOKEN or any(not c.isprintable() or c.isspace() for c in token):
        raise InvalidArgument.field(
            f"{field}.bearer_token",
            f"a token is at most {MAX_TOKEN} printable characters, without spaces",
            reason="INVALID_CREDENTIALS",
        )


MAX_NODE_ENDPOINTS = 1000


def node_endpoints(
    driver: Driver, values: Mapping[str, str], field: str = "pool.node_endpoints"
) -> dict[str, str]:
    if values and driver is not Driver.SWARM:
        raise InvalidArgument.field(
            field, "only Swarm pools have node engine endpoints", reason="UNSUPPORTED_FIELD"
        )
    if len(values) > MAX_NODE_ENDPOINTS:
        raise InvalidArgument.field(
            field, f"at most {MAX_NODE_ENDPOINTS} entries", reason="TOO_MANY_NODE_ENDPOINTS"
        )
    for key, value in values.items():
        if not key or len(key) > 253 or any(c.isspace() or c == "/" for c in key):
            raise InvalidArgument.field(
                f"{field}[{key[:63]}]", "a key is a node id or hostname", reason="INVALID_NODE_KEY"
            )
        endpoint(driver, value, f"{field}[{key}]")
    return dict(values)


def page_size(value: int) -> int:
    if value < 0:
        raise InvalidArgument.field(
            "page_size", "must not be negative", reason="INVALID_PAGE_SIZE", metadata={"value": value}
        )
    return min(value or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
