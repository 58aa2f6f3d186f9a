"""The CLI's commands: each builds a request from its arguments, calls the sync client and
returns what to print."""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from google.protobuf.message import Message

from zanepool.v1 import resources_pb2 as pb
from zanepool_client.cli import output
from zanepool_client.cli.names import pairs
from zanepool_client.client import ZanePoolSyncClient

Args = argparse.Namespace
Client = ZanePoolSyncClient


def _list_args(args: Args) -> dict[str, Any]:
    return {"filter": args.filter, "order_by": args.order_by, "page_size": args.page_size}


def _limited(items: Iterable[Message], limit: int | None) -> Iterator[Message]:
    for n, item in enumerate(items):
        if limit is not None and n >= limit:
            return
        yield item


def listing(kind: str, method: str) -> Any:
    """``<resource> list [POOL]``: every page (up to --limit), of one pool or of every pool."""

    def run(client: Client, args: Args) -> str:
        list_args = _list_args(args)
        if method != "list_pools":
            list_args["parent"] = args.parent
        items = getattr(client, method)(**list_args)
        return output.render(_limited(items, args.limit), kind, args.output)

    return run


def one(method: str, *flags: str) -> Any:
    """A command that calls ``method`` with NAME (and ``flags``) and prints the resource it returns."""

    def run(client: Client, args: Args) -> str:
        done = getattr(client, method)(name=args.name, **{f: getattr(args, f) for f in flags})
        return output.render_one(done, args.output)

    return run


def deleting(method: str, *flags: str) -> Any:
    def run(client: Client, args: Args) -> str:
        getattr(client, method)(name=args.name, **{f: getattr(args, f) for f in flags})
        return output.render_plain({"name": args.name, "deleted": True}, f"deleted {args.name}", args.output)

    return run


def _credentials(args: Args) -> pb.Credentials | None:
    files = {
        "ca_pem": args.ca_file,
        "cert_pem": args.cert_file,
        "key_pem": args.key_file,
        "bearer_token": args.token_file,
        "kubeconfig": args.kubeconfig,
    }
    given = {k: Path(v).read_text() for k, v in files.items() if v}
    return pb.Credentials(**given) if given else None


def _engine(spec: str) -> pb.Engine:
    """``ENDPOINT[,advertise=ADDR][,listen=ADDR][,role=manager|worker]``."""
    endpoint, *rest = spec.split(",")
    extra = pairs(rest, "key=value after the endpoint")
    unknown = set(extra) - {"advertise", "listen", "role"}
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown engine setting {', '.join(sorted(unknown))} in {spec!r}")
    role = {"": pb.Node.ROLE_UNSPECIFIED, "manager": pb.Node.ROLE_MANAGER, "worker": pb.Node.ROLE_WORKER}
    if extra.get("role", "") not in role:
        raise argparse.ArgumentTypeError(f"role must be manager or worker in {spec!r}")
    return pb.Engine(
        endpoint=endpoint,
        advertise_address=extra.get("advertise", ""),
        listen_address=extra.get("listen", ""),
        role=role[extra.get("role", "")],
    )


def _pool(args: Args) -> pb.Pool:
    driver = pb.DRIVER_KUBERNETES if args.driver == "kubernetes" else pb.DRIVER_SWARM
    return pb.Pool(
        driver=driver,
        endpoint=args.endpoint or "",
        display_name=args.display_name or "",
        labels=pairs(args.label),
        node_endpoints=pairs(args.node_endpoint, "NODE=ENDPOINT"),
        credentials=_credentials(args),
    )


def pools_register(client: Client, args: Args) -> str:
    pool = client.register_pool(pool_id=args.pool_id, pool=_pool(args), validate_only=args.validate_only)
    return output.render_one(pool, args.output)


def pools_create(client: Client, args: Args) -> str:
    engines = [_engine(e) for e in args.engine]
    pool = client.create_pool(
        pool_id=args.pool_id, pool=_pool(args), engines=engines, validate_only=args.validate_only
    )
    return output.render_one(pool, args.output)


def _labels_update(args: Args, mask: list[str]) -> dict[str, str]:
    """--label and --remove-label as ``labels.<key>`` mask paths (absent from labels: removed)."""
    labels = pairs(args.label)
    mask += [f"labels.{k}" for k in [*labels, *(args.remove_label or ())]]
    return labels


def pools_update(client: Client, args: Args) -> str:
    mask: list[str] = []
    labels = _labels_update(args, mask)
    fields = {"display_name": args.display_name, "endpoint": args.endpoint}
    mask += [k for k, v in fields.items() if v is not None]
    node_endpoints = pairs(args.node_endpoint, "NODE=ENDPOINT")
    if node_endpoints:
        mask.append("node_endpoints")
    credentials = _credentials(args)
    if credentials is not None:
        mask.append("credentials")
    if not mask:
        raise argparse.ArgumentTypeError("nothing to update: give at least one of the update flags")
    pool = pb.Pool(
        name=args.name,
        etag=args.etag or "",
        labels=labels,
        node_endpoints=node_endpoints,
        credentials=credentials,
        **{k: v for k, v in fields.items() if v is not None},
    )
    return output.render_one(client.update_pool(pool=pool, update_mask=mask), args.output)


def pools_get(client: Client, args: Args) -> str:
    view = pb.POOL_VIEW_FULL if args.full else pb.POOL_VIEW_BASIC
    return output.render_one(client.get_pool(name=args.name, view=view), args.output)


def nodes_update(client: Client, args: Args) -> str:
    mask: list[str] = []
    labels = _labels_update(args, mask)
    node = pb.Node(name=args.name, etag=args.etag or "", labels=labels)
    if args.availability:
        node.availability = pb.Node.Availability.Value(f"AVAILABILITY_{args.availability.upper()}")
        mask.append("availability")
    if args.role:
        node.role = pb.Node.Role.Value(f"ROLE_{args.role.upper()}")
        mask.append("role")
    if not mask:
        raise argparse.ArgumentTypeError(
            "nothing to update: give --label, --remove-label, --availability or --role"
        )
    return output.render_one(client.update_node(node=node, update_mask=mask), args.output)


def nodes_import(client: Client, args: Args) -> str:
    return output.render_one(client.import_node(parent=args.parent, engine=_engine(args.engine)), args.output)


def containers_create(client: Client, args: Args) -> str:
    container = pb.Container(
        image=args.image,
        command=args.command or (),
        env=pairs(args.env),
        labels=pairs(args.label),
        networks=args.network or (),
        restart_policy=args.restart or "",
        target_node=args.node or "",
        constraints=args.constraint or (),
        ports=[_port(p) for p in args.publish or ()],
        tty=args.tty,
    )
    made = client.create_container(
        parent=args.parent,
        container_id=args.container_id,
        container=container,
        validate_only=args.validate_only,
    )
    return output.render_one(made, args.output)


def _port(spec: str) -> pb.PortMapping:
    """``[HOST:]CONTAINER[/PROTOCOL]``."""
    ports, _, protocol = spec.partition("/")
    host, _, inside = ports.rpartition(":")
    try:
        return pb.PortMapping(container_port=int(inside), host_port=int(host or 0), protocol=protocol)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{spec!r} is not [HOST:]CONTAINER[/PROTOCOL]") from None


def images_pull(client: Client, args: Args) -> str:
    pulled = client.pull_image(parent=args.parent, image=args.image, node=args.node)
    return output.render(pulled.images, "zanepool.v1.Image", args.output)


def volumes_create(client: Client, args: Args) -> str:
    volume = pb.Volume(driver=args.driver or "", labels=pairs(args.label), options=pairs(args.opt))
    made = client.create_volume(
        parent=args.parent, volume_id=args.volume_id, volume=volume, validate_only=args.validate_only
    )
    return output.render_one(made, args.output)


def networks_create(client: Client, args: Args) -> str:
    network = pb.Network(
        driver=args.driver or "",
        labels=pairs(args.label),
        options=pairs(args.opt),
        subnets=args.subnet or (),
        attachable=args.attachable,
        internal=args.internal,
    )
    made = client.create_network(
        parent=args.parent, network_id=args.network_id, network=network, validate_only=args.validate_only
    )
    return output.render_one(made, args.output)


#: Lines per message when printing text (JSON and YAML print each message, so one line each,
#: with its own cursor).
LOG_BATCH = 1000


def logs(client: Client, args: Args, out: IO[str]) -> None:
    stream = client.stream_logs(
        parent=args.parent,
        filter=args.filter,
        since_time=args.since,  # a datetime (parsed by argparse) or None
        tail_lines=args.tail,
        follow=args.follow,
        timestamps=args.timestamps,
        max_batch_lines=0 if args.output in ("json", "yaml") else LOG_BATCH,
    )
    prefix = not args.parent.count("/containers/")
    for message in stream:
        out_text = _log_text(message, prefix)
        output.write_stream(out, message, out_text, args.output)


def _entry_text(entry: Any, prefix: bool) -> str:
    return f"{entry.container.rsplit('/', 1)[-1]} | {entry.line}" if prefix else str(entry.line)


def _log_text(message: Any, prefix: bool) -> str | None:
    kind = message.WhichOneof("payload")
    if kind == "entry":
        return _entry_text(message.entry, prefix)
    if kind == "batch":
        return "\n".join(_entry_text(entry, prefix) for entry in message.batch.entries)
    if kind == "source_change":
        change = output.enum("change")(message.source_change)
        note = f": {message.source_change.message}" if message.source_change.message else ""
        return f"--- {message.source_change.container} {change}{note}"
    if kind == "gap":
        return f"--- {message.gap.dropped_lines} lines dropped (too slow)"
    return None  # heartbeat


def events(client: Client, args: Args, out: IO[str]) -> None:
    """Events; without --follow, only those sent before the first heartbeat (the backlog)."""
    stream = client.watch_events(parent=args.parent, filter=args.filter, since_time=args.since)
    for message in stream:
        if message.WhichOneof("payload") == "heartbeat":
            if not args.follow:
                return
            continue
        event = message.event
        attrs = " ".join(f"{k}={v}" for k, v in sorted(event.attributes.items()))
        text = " ".join(
            s
            for s in (output.when("time")(event), event.pool, event.kind, event.action, event.resource, attrs)
            if s
        )
        output.write_stream(out, message, text, args.output)


def interrupted() -> int:
    """Ctrl-C: end quietly with the shell's code for SIGINT."""
    sys.stderr.write("\n")
    return 128 + signal.SIGINT
