"""TLS client contexts from PEM strings (credentials arrive as text, never as files)."""

from __future__ import annotations

import os
import ssl
import tempfile

from zanepool_server.errors import InvalidArgument
from zanepool_server.model import Credentials


def client_context(creds: Credentials) -> ssl.SSLContext:
    """A verifying client context: the given CA (else the system's) and the client certificate."""
    try:
        ctx = ssl.create_default_context(cadata=creds.ca_pem or None)
    except ssl.SSLError as exc:
        raise InvalidArgument.field(
            "pool.credentials.ca_pem", f"not a PEM CA bundle ({exc.reason})", reason="INVALID_CREDENTIALS"
        ) from exc
    if bool(creds.cert_pem) != bool(creds.key_pem):
        raise InvalidArgument.field(
            "pool.credentials", "cert_pem and key_pem go together", reason="INVALID_CREDENTIALS"
        )
    if creds.cert_pem:
        # ssl loads a certificate chain from files only: a private 0600 file, removed at once.
        fd, path = tempfile.mkstemp(prefix="zanepool-tls-")
        try:
            with os.fdopen(fd, "w") as f:
                f.write(creds.cert_pem.strip() + "\n" + creds.key_pem.strip() + "\n")
            ctx.load_cert_chain(path)
        except ssl.SSLError as exc:
            raise InvalidArgument.field(
                "pool.credentials.cert_pem",
                f"not a PEM certificate and key ({exc.reason})",
                reason="INVALID_CREDENTIALS",
            ) from exc
        finally:
            os.unlink(path)
    return ctx
