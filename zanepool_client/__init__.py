"""The Zane Pool client: the generated stubs (``zanepool.v1``) plus typed helpers.

For now this holds the error type that exposes a rich status (code, ErrorInfo reason and
metadata, field violations); the typed async/sync client builds on it.
"""

from zanepool_client.errors import FieldViolation, ZanePoolRpcError

__all__ = ["FieldViolation", "ZanePoolRpcError"]
