"""List queries: the AIP-160 filter subset, order_by and the keyset page position.

Pure data and parsing, shared by the domain (which validates requests and evaluates
filters over live cluster reads) and the store (which translates them to MongoDB).

Grammar (a subset of AIP-160)::

    expr    := and ("OR" and)*
    and     := unary (["AND"] unary)*
    unary   := ("NOT" | "-") unary | "(" expr ")" | compare
    compare := FIELD OP VALUE          OP: = != : < <= > >=
    VALUE   := "quoted string" | bare_word | *

``labels.<key> = "v"`` matches a label, ``labels.<key>:*`` tests that a key is present.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from zanepool_server.errors import InvalidArgument


class Kind(enum.Enum):
    STRING = "string"
    ENUM = "enum"
    MAP = "map"
    TIMESTAMP = "timestamp"


@dataclass(frozen=True)
class Field:
    """A filterable field: its kind and, for enums, the allowed values and wire prefix."""

    kind: Kind
    values: tuple[str, ...] = ()
    prefix: str = ""


Spec = Mapping[str, Field]


@dataclass(frozen=True)
class Compare:
    field: str  # the spec's field name ("labels" for a label test)
    op: str
    value: Any  # str, datetime, or None for a presence test
    key: str = ""  # the label key of a map field


@dataclass(frozen=True)
class And:
    items: tuple[Expr, ...]


@dataclass(frozen=True)
class Or:
    items: tuple[Expr, ...]


@dataclass(frozen=True)
class Not:
    item: Expr


Expr = Compare | And | Or | Not

_TOKEN = re.compile(
    r'\s*(?:(?P<str>"(?:[^"\\]|\\.)*")|(?P<op><=|>=|!=|=|<|>|:)|(?P<paren>[()])|(?P<word>[^\s()"=!<>:]+))'
)
_MAX_FILTER = 2048
_MAX_DEPTH = 16


def _bad(text: str, why: str, reason: str = "INVALID_FILTER") -> InvalidArgument:
    return InvalidArgument.field("filter", why, reason=reason, metadata={"filter": text[:200]})


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise _bad(text, f"cannot read the filter at character {pos + 1}")
        kind = m.lastgroup or ""
        val = m.group(kind)
        if kind == "str":
            val = re.sub(r"\\(.)", r"\1", val[1:-1])
        out.append((kind, val))
        pos = m.end()
    return out


class _Parser:
    def __init__(self, text: str, spec: Spec) -> None:
        self.text, self.spec = text, spec
        self.toks = _tokens(text)
        self.i = 0
        self.depth = 0

    def peek(self) -> tuple[str, str] | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self) -> tuple[str, str]:
        tok = self.peek()
        if tok is None:
            raise _bad(self.text, "the filter ends too early")
        self.i += 1
        return tok

    def is_word(self, word: str) -> bool:
        tok = self.peek()
        return tok is not None and tok == ("word", word)

    def parse(self) -> Expr:
        expr = self.or_()
        if self.peek() is not None:
            raise _bad(self.text, f"unexpected {self.peek()[1]!r}")  # type: ignore[index]
        return expr

    def or_(self) -> Expr:
        items = [self.and_()]
        while self.is_word("OR"):
            self.take()
            items.append(self.and_())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def and_(self) -> Expr:
        items = [self.unary()]
        while (tok := self.peek()) is not None and tok != ("paren", ")") and not self.is_word("OR"):
            if self.is_word("AND"):
                self.take()
            items.append(self.unary())
        return items[0] if len(items) == 1 else And(tuple(items))

    def unary(self) -> Expr:
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            raise _bad(self.text, f"the filter nests deeper than {_MAX_DEPTH}")
        try:
            if self.is_word("NOT") or self.is_word("-"):
                self.take()
                return Not(self.unary())
            tok = self.peek()
            if tok is not None and tok[0] == "word" and tok[1].startswith("-"):
                self.toks[self.i] = ("word", tok[1][1:])  # `-field = x` is NOT field = x
                return Not(self.unary())
            if self.peek() == ("paren", "("):
                self.take()
                expr = self.or_()
                if self.take() != ("paren", ")"):
                    raise _bad(self.text, "a parenthesis is not closed")
                return expr
            return self.compare()
        finally:
            self.depth -= 1

    def compare(self) -> Expr:
        kind, name = self.take()
        if kind != "word":
            raise _bad(self.text, f"expected a field name, found {name!r}")
        op_kind, op = self.take()
        if op_kind != "op":
            raise _bad(self.text, f"expected an operator after {name!r}, found {op!r}")
        v_kind, raw = self.take()
        if v_kind not in ("word", "str"):
            raise _bad(self.text, f"expected a value after {name} {op}, found {raw!r}")
        return _compare(self.text, self.spec, name, op, raw, quoted=v_kind == "str")


def _compare(text: str, spec: Spec, name: str, op: str, raw: str, *, quoted: bool) -> Compare:
    base, _, key = name.partition(".")
    field = spec.get(base)
    if field is None or (field.kind is Kind.MAP) != bool(key):
        allowed = ", ".join(f"{k}.<key>" if f.kind is Kind.MAP else k for k, f in sorted(spec.items()))
        raise _bad(
            text, f"cannot filter on {name!r}; filterable fields: {allowed}", "UNSUPPORTED_FILTER_FIELD"
        )
    presence = raw == "*" and not quoted
    if field.kind in (Kind.STRING, Kind.MAP, Kind.ENUM) and op in ("<", "<=", ">", ">="):
        raise _bad(text, f"{name} does not support {op}", "UNSUPPORTED_FILTER_OPERATOR")
    if presence:
        if op != ":":
            raise _bad(text, f"{name} {op} * is not a valid test; use {name}:*")
        return Compare(base, ":", None, key)
    if field.kind is Kind.ENUM:
        value = raw.upper()
        if field.prefix and value.startswith(field.prefix):
            value = value[len(field.prefix) :]
        if value not in field.values:
            raise _bad(
                text, f"{raw!r} is not a {name}; one of: {', '.join(field.values)}", "INVALID_FILTER_VALUE"
            )
        if op == ":":
            op = "="
        return Compare(base, op, value, key)
    if field.kind is Kind.TIMESTAMP:
        try:
            when = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            raise _bad(text, f"{raw!r} is not an RFC 3339 time", "INVALID_FILTER_VALUE") from None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return Compare(base, "=" if op == ":" else op, when, key)
    return Compare(base, op, raw, key)


def parse_filter(text: str, spec: Spec) -> Expr | None:
    """Parse ``text`` against ``spec``; None for an empty filter. Raises InvalidArgument."""
    if len(text) > _MAX_FILTER:
        raise _bad(text, f"longer than {_MAX_FILTER} characters", "FILTER_TOO_LONG")
    if not text.strip():
        return None
    return _Parser(text, spec).parse()


def matches(expr: Expr | None, get: Callable[[str, str], Any]) -> bool:
    """Evaluate ``expr``; ``get(field, key)`` returns a field's value (a label's, for maps)."""
    if expr is None:
        return True
    if isinstance(expr, And):
        return all(matches(e, get) for e in expr.items)
    if isinstance(expr, Or):
        return any(matches(e, get) for e in expr.items)
    if isinstance(expr, Not):
        return not matches(expr.item, get)
    actual = get(expr.field, expr.key)
    if expr.value is None:
        # A label is present even when empty; a plain field is present when it is set.
        return actual is not None if expr.key else actual not in (None, "")
    if expr.op == "=":
        return bool(actual == expr.value)
    if expr.op == "!=":
        return bool(actual != expr.value)
    if expr.op == ":":
        return actual is not None and str(expr.value).lower() in str(actual).lower()
    if actual is None:
        return False
    ops: dict[str, Callable[[Any, Any], bool]] = {
        "<": lambda a, b: a < b,
        "<=": lambda a, b: a <= b,
        ">": lambda a, b: a > b,
        ">=": lambda a, b: a >= b,
    }
    return ops[expr.op](actual, expr.value)


@dataclass(frozen=True)
class Order:
    """A list order: (field, descending) pairs; the last is always the unique ``name``."""

    keys: tuple[tuple[str, bool], ...]

    def text(self) -> str:
        return ",".join(f"{f} desc" if d else f for f, d in self.keys)


def parse_order_by(text: str, allowed: Sequence[str]) -> Order:
    keys: list[tuple[str, bool]] = []
    for part in (p.strip() for p in text.split(",")) if text.strip() else ():
        words = part.split()
        if not words or len(words) > 2 or (len(words) == 2 and words[1].lower() not in ("asc", "desc")):
            raise InvalidArgument.field(
                "order_by",
                f"cannot read {part!r}; use `field` or `field desc`",
                reason="INVALID_ORDER_BY",
                metadata={"order_by": text[:200]},
            )
        if words[0] not in allowed:
            raise InvalidArgument.field(
                "order_by",
                f"cannot order by {words[0]!r}; one of: {', '.join(allowed)}",
                reason="UNSUPPORTED_ORDER_BY",
                metadata={"order_by": text[:200]},
            )
        if any(words[0] == k for k, _ in keys):
            raise InvalidArgument.field(
                "order_by",
                f"{words[0]!r} is given twice",
                reason="INVALID_ORDER_BY",
                metadata={"order_by": text[:200]},
            )
        keys.append((words[0], len(words) == 2 and words[1].lower() == "desc"))
    if not any(k == "name" for k, _ in keys):
        keys.append(("name", False))
    return Order(tuple(keys))
