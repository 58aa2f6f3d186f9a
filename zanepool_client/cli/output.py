"""What the CLI prints: aligned tables (default and ``wide``), JSON and YAML."""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import IO, Any

import yaml
from google.protobuf import json_format
from google.protobuf.message import Message

FORMATS = ("table", "wide", "json", "yaml")


@dataclass(frozen=True)
class Column:
    header: str
    value: Callable[[Any], object]
    wide: bool = False  # only with -o wide


def enum(field: str) -> Callable[[Message], str]:
    """An enum field as its value name without the enum's prefix, in lower case (``ready``)."""

    def render(msg: Message) -> str:
        enum_type = msg.DESCRIPTOR.fields_by_name[field].enum_type
        assert enum_type is not None, field
        name: str = enum_type.values_by_number[getattr(msg, field)].name
        prefix = enum_type.values[0].name.removesuffix("UNSPECIFIED")  # STATE_UNSPECIFIED -> STATE_
        return name.removeprefix(prefix).lower()

    return render


def attr(field: str) -> Callable[[Any], object]:
    return lambda msg: getattr(msg, field)


def short(field: str) -> Callable[[Any], str]:
    """A resource name's last segment (``pools/p/nodes/abc`` -> ``abc``)."""
    return lambda msg: str(getattr(msg, field)).rsplit("/", 1)[-1]


def pairs(field: str) -> Callable[[Any], str]:
    return lambda msg: ",".join(f"{k}={v}" for k, v in sorted(getattr(msg, field).items()))


def joined(field: str) -> Callable[[Any], str]:
    return lambda msg: ",".join(getattr(msg, field))


def when(field: str) -> Callable[[Any], str]:
    """A Timestamp as RFC 3339 in UTC to the second; empty when unset."""

    def render(msg: Any) -> str:
        stamp = getattr(msg, field)
        if not stamp.seconds and not stamp.nanos:
            return ""
        moment = datetime.datetime.fromtimestamp(stamp.seconds, datetime.UTC)
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")

    return render


def size(field: str) -> Callable[[Any], str]:
    """Bytes in binary units (``1.5GiB``)."""

    def render(msg: Any) -> str:
        value = float(getattr(msg, field))
        for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
            if value < 1024 or unit == "TiB":
                return f"{value:.0f}{unit}" if unit == "B" else f"{value:.1f}{unit}"
            value /= 1024
        raise AssertionError("unreachable")

    return render


def yes(field: str) -> Callable[[Any], str]:
    return lambda msg: "yes" if getattr(msg, field) else ""


def ports(msg: Any) -> str:
    return ",".join(
        f"{p.host_port}:{p.container_port}/{p.protocol or 'tcp'}" if p.host_port else f"{p.container_port}"
        for p in msg.ports
    )


COLUMNS: dict[str, Sequence[Column]] = {
    "zanepool.v1.Pool": (
        Column("NAME", attr("name")),
        Column("DISPLAY NAME", attr("display_name")),
        Column("DRIVER", enum("driver")),
        Column("STATE", enum("state")),
        Column("NODES", lambda p: f"{p.info.ready_node_count}/{p.info.node_count}"),
        Column("LABELS", pairs("labels")),
        Column("ENDPOINT", attr("endpoint"), wide=True),
        Column("VERSION", lambda p: p.info.server_version, wide=True),
        Column("CLUSTER ID", attr("cluster_id"), wide=True),
        Column("LAST SYNC", when("last_sync_time"), wide=True),
        Column("MESSAGE", attr("state_message"), wide=True),
    ),
    "zanepool.v1.Node": (
        Column("NAME", attr("name")),
        Column("HOSTNAME", attr("hostname")),
        Column("ROLE", enum("role")),
        Column("STATE", enum("state")),
        Column("AVAILABILITY", enum("availability")),
        Column("LEADER", yes("leader")),
        Column("ADDRESS", attr("address"), wide=True),
        Column("ENGINE", attr("engine_version"), wide=True),
        Column("CPUS", attr("cpus"), wide=True),
        Column("MEMORY", size("memory_bytes"), wide=True),
        Column("LABELS", pairs("labels"), wide=True),
    ),
    "zanepool.v1.Container": (
        Column("NAME", attr("name")),
        Column("IMAGE", attr("image")),
        Column("STATE", enum("state")),
        Column("NODE", short("node")),
        Column("OWNER", attr("owner")),
        Column("CREATED", when("create_time"), wide=True),
        Column("PORTS", ports, wide=True),
        Column("RESTARTS", attr("restart_count"), wide=True),
        Column("MESSAGE", attr("state_message"), wide=True),
    ),
    "zanepool.v1.Image": (
        Column("NAME", attr("name")),
        Column("TAGS", joined("repo_tags")),
        Column("SIZE", size("size_bytes")),
        Column("NODE", short("node")),
        Column("IMAGE ID", attr("image_id"), wide=True),
        Column("CREATED", when("create_time"), wide=True),
        Column("CONTAINERS", attr("containers"), wide=True),
    ),
    "zanepool.v1.Volume": (
        Column("NAME", attr("name")),
        Column("DRIVER", attr("driver")),
        Column("SCOPE", attr("scope")),
        Column("NODE", short("node")),
        Column("KIND", attr("kind"), wide=True),
        Column("MOUNTPOINT", attr("mountpoint"), wide=True),
        Column("LABELS", pairs("labels"), wide=True),
        Column("CREATED", when("create_time"), wide=True),
    ),
    "zanepool.v1.Network": (
        Column("NAME", attr("name")),
        Column("DRIVER", attr("driver")),
        Column("SCOPE", attr("scope")),
        Column("NODE", short("node")),
        Column("NETWORK ID", attr("network_id"), wide=True),
        Column("SUBNETS", joined("subnets"), wide=True),
        Column("ATTACHABLE", yes("attachable"), wide=True),
        Column("INTERNAL", yes("internal"), wide=True),
        Column("CREATED", when("create_time"), wide=True),
    ),
}


def table(rows: Sequence[Sequence[str]]) -> str:
    """Left-aligned columns two spaces apart; an empty cell shows as ``-``."""
    cells = [[str(c) or "-" for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(cells[0]))]
    return "".join(
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() + "\n" for row in cells
    )


def as_dict(msg: Message) -> dict[str, Any]:
    return json_format.MessageToDict(msg, preserving_proto_field_name=True)


def _dump(data: Any, fmt: str) -> str:
    """``data`` in JSON (``fmt`` "json") or YAML (else)."""
    if fmt == "json":
        return json.dumps(data, indent=2, sort_keys=True) + "\n"
    return str(yaml.safe_dump(data, sort_keys=True))


def render(items: Iterable[Message], kind: str, fmt: str) -> str:
    """Resources of one type (``kind``: its full proto name) in a format of FORMATS."""
    items = list(items)
    if fmt in ("json", "yaml"):
        return _dump([as_dict(m) for m in items], fmt)
    columns = [c for c in COLUMNS[kind] if fmt == "wide" or not c.wide]
    return table([[c.header for c in columns], *([str(c.value(m)) for c in columns] for m in items)])


def render_one(msg: Message, fmt: str) -> str:
    """One resource: a one-row table, or the object itself in JSON or YAML."""
    if fmt in ("json", "yaml"):
        return _dump(as_dict(msg), fmt)
    return render([msg], msg.DESCRIPTOR.full_name, fmt)


def render_plain(data: dict[str, Any], text: str, fmt: str) -> str:
    """A result that is no resource (a deletion): ``text`` in a table format, else ``data``."""
    if fmt in ("json", "yaml"):
        return _dump(data, fmt)
    return text + "\n"


def write_stream(out: IO[str], msg: Message, text: str | None, fmt: str) -> None:
    """One message of a stream: ``text`` (None: nothing) in a table format, else one JSON line or
    one YAML document."""
    if fmt == "json":
        out.write(json.dumps(as_dict(msg), sort_keys=True) + "\n")
    elif fmt == "yaml":
        out.write("---\n" + yaml.safe_dump(as_dict(msg), sort_keys=True))
    elif text is not None:
        out.write(text + "\n")
    out.flush()
