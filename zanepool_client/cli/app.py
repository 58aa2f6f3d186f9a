"""``zanepool``: the command line over the sync client."""

from __future__ import annotations

import argparse
import datetime
import os
import sys
from collections.abc import Callable, Sequence
from typing import IO, Any

import grpc

from zanepool_client.cli import commands as c
from zanepool_client.cli import names, output
from zanepool_client.client import ZanePoolSyncClient
from zanepool_client.config import TlsConfig
from zanepool_client.errors import ZanePoolRpcError

DEFAULT_SERVER = "127.0.0.1:50051"
#: Exit codes: 0 done, 1 another error, 2 bad usage, 10 + the gRPC code number for a failed call,
#: 130 interrupted (Ctrl-C).
EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_RPC_BASE = 0, 1, 2, 10


def exit_code(code: grpc.StatusCode) -> int:
    number: int = code.value[0]
    return EXIT_RPC_BASE + number


def epilog() -> str:
    rows = [["exit", "meaning"], ["0", "done"], ["1", "any other error"], ["2", "bad usage"]]
    rows += [[str(exit_code(code)), code.name] for code in grpc.StatusCode if code != grpc.StatusCode.OK]
    rows += [["130", "interrupted (Ctrl-C)"]]
    return (
        "Resource names: a pool is NAME or pools/NAME, a child POOL/ID or pools/POOL/<kind>/ID;\n"
        "list commands without POOL list every pool (pools/-) and follow every page.\n\n"
        "Errors are one line on stderr: error: CODE (REASON): message\n\n" + output.table(rows)
    )


def _timestamp(value: str) -> datetime.datetime:
    try:
        moment = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not an RFC 3339 time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.UTC)


def _options(parser: argparse.ArgumentParser, top: bool) -> None:
    """The connection and output options: accepted before and after the command."""
    default: Any = None if top else argparse.SUPPRESS

    def add(*flags: str, value: Any = None, **kw: Any) -> None:
        parser.add_argument(*flags, default=value if top else default, **kw)

    env = os.environ
    add("--server", value=env.get("ZANEPOOL_SERVER", DEFAULT_SERVER), help="host:port [ZANEPOOL_SERVER]")
    add("--token", value=env.get("ZANEPOOL_TOKEN"), help="bearer token sent with every call [ZANEPOOL_TOKEN]")
    add("--tls", value=False, action="store_true", help="TLS to the server (system roots unless --tls-ca)")
    add("--tls-ca", help="PEM file of the CA that signs the server's certificate (implies --tls)")
    add("--timeout", value=30.0, type=float, help="seconds a call may take (default 30)")
    add("-o", "--output", value="table", choices=output.FORMATS, help="table (default), wide, json or yaml")


def _command(
    group: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    run: Callable[..., Any],
    help: str,
) -> argparse.ArgumentParser:
    sub = group.add_parser(name, help=help, description=help)
    _options(sub, top=False)
    sub.set_defaults(run=run)
    return sub


def _list(group: Any, kind: str, method: str, resource: str, of_pool: bool = True) -> None:
    sub = _command(group, "list", c.listing(kind, method), f"list {resource}")
    if of_pool:
        sub.add_argument("parent", metavar="POOL", nargs="?", default="pools/-", type=names.pool)
    sub.add_argument("--filter", help="AIP-160 filter, e.g. 'labels.env = \"prod\"'")
    sub.add_argument("--order-by", help="e.g. 'name desc'")
    sub.add_argument("--page-size", type=int, help="items per call (the command follows every page)")
    sub.add_argument("--limit", type=int, help="print at most this many")


def _name(sub: argparse.ArgumentParser, kind: str) -> None:
    parse = names.pool if kind == "pools" else names.child(kind)
    sub.add_argument("name", metavar="NAME", type=parse)


def _labels(sub: argparse.ArgumentParser, removable: bool = False) -> None:
    sub.add_argument("--label", action="append", metavar="KEY=VALUE", help="a label (repeatable)")
    if removable:
        sub.add_argument("--remove-label", action="append", metavar="KEY", help="remove a label (repeatable)")


def _pool_fields(sub: argparse.ArgumentParser, creating: bool) -> None:
    if creating:
        sub.add_argument("pool_id", metavar="ID", help="the pool's id (an RFC 1034 label)")
        sub.add_argument("--driver", choices=("swarm", "kubernetes"), default="swarm")
    sub.add_argument("--endpoint", help="the cluster's API: unix:///..., tcp://host:2376, https://host:6443")
    sub.add_argument("--display-name")
    _labels(sub, removable=not creating)
    sub.add_argument("--node-endpoint", action="append", metavar="NODE=ENDPOINT", help="a node's own engine")
    for flag in ("--ca-file", "--cert-file", "--key-file", "--token-file", "--kubeconfig"):
        sub.add_argument(flag, metavar="FILE", help=f"credentials: {flag[2:].replace('-', ' ')}")
    if creating:
        sub.add_argument("--validate-only", action="store_true", help="check everything, change nothing")


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="zanepool",
        description="Zane Pool: pools of Docker Swarm and Kubernetes clusters, one API.",
        epilog=epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _options(top, top=True)
    kinds = top.add_subparsers(dest="kind", required=True, metavar="RESOURCE")

    pools = kinds.add_parser("pools", help="registered clusters").add_subparsers(dest="verb", required=True)
    _pool_fields(_command(pools, "register", c.pools_register, "register an existing cluster"), True)
    create = _command(pools, "create", c.pools_create, "build a swarm from bare engines and register it")
    _pool_fields(create, True)
    create.add_argument(
        "--engine",
        action="append",
        required=True,
        metavar="ENDPOINT[,advertise=ADDR][,listen=ADDR][,role=ROLE]",
        help="a bare engine (repeatable; the first initialises the swarm)",
    )
    get = _command(pools, "get", c.pools_get, "show a pool")
    _name(get, "pools")
    get.add_argument("--full", action="store_true", help="live info and nodes, read from the cluster now")
    _list(pools, "zanepool.v1.Pool", "list_pools", "pools", of_pool=False)
    update = _command(pools, "update", c.pools_update, "change a pool's display name, labels, endpoint...")
    _name(update, "pools")
    _pool_fields(update, False)
    update.add_argument("--etag", help="only if the pool is unchanged since this etag")
    delete = _command(pools, "delete", c.deleting("delete_pool", "etag"), "deregister a pool")
    _name(delete, "pools")
    delete.add_argument("--etag", help="only if the pool is unchanged since this etag")
    _name(_command(pools, "refresh", c.one("refresh_pool"), "sync a pool with its cluster now"), "pools")

    nodes = kinds.add_parser("nodes", help="machines of pools").add_subparsers(dest="verb", required=True)
    _list(nodes, "zanepool.v1.Node", "list_nodes", "nodes")
    _name(_command(nodes, "get", c.one("get_node"), "show a node"), "nodes")
    update = _command(nodes, "update", c.nodes_update, "change a node's labels, availability or role")
    _name(update, "nodes")
    _labels(update, removable=True)
    update.add_argument("--availability", choices=("active", "pause", "drain"))
    update.add_argument("--role", choices=("manager", "worker"))
    update.add_argument("--etag", help="only if the node is unchanged since this version")
    imp = _command(nodes, "import", c.nodes_import, "join a bare engine to a swarm pool")
    imp.add_argument("parent", metavar="POOL", type=names.pool)
    imp.add_argument("engine", metavar="ENDPOINT[,advertise=ADDR][,listen=ADDR][,role=ROLE]")
    remove = _command(nodes, "remove", c.deleting("remove_node", "force", "drain"), "remove a node")
    _name(remove, "nodes")
    remove.add_argument("--force", action="store_true", help="even when it is not down")
    remove.add_argument("--drain", action="store_true", help="drain it first")

    containers = kinds.add_parser("containers", help="containers of pools").add_subparsers(
        dest="verb", required=True
    )
    _list(containers, "zanepool.v1.Container", "list_containers", "containers")
    _name(_command(containers, "get", c.one("get_container"), "show a container"), "containers")
    create = _command(
        containers,
        "create",
        c.containers_create,
        "create and start a container: ... POOL --image IMAGE [-- CMD...]",
    )
    create.add_argument("parent", metavar="POOL", type=names.pool)
    create.add_argument("--image", required=True)
    create.add_argument("--name", dest="container_id", help="the container's name in the cluster")
    create.add_argument("--env", action="append", metavar="KEY=VALUE")
    _labels(create)
    create.add_argument("--network", action="append")
    create.add_argument("--publish", "-p", action="append", metavar="[HOST:]CONTAINER[/PROTOCOL]")
    create.add_argument("--restart", choices=("no", "on-failure", "always", "unless-stopped"))
    create.add_argument("--node", help="place it on this node")
    create.add_argument("--constraint", action="append", help="placement constraint (Swarm syntax)")
    create.add_argument("--tty", action="store_true")
    create.add_argument("--validate-only", action="store_true")
    create.set_defaults(command=[])  # the words after --: the command and its arguments
    _name(_command(containers, "start", c.one("start_container"), "start a container"), "containers")
    for verb, method in (("stop", "stop_container"), ("restart", "restart_container")):
        sub = _command(containers, verb, c.one(method, "timeout_seconds"), f"{verb} a container")
        _name(sub, "containers")
        sub.add_argument("--timeout-seconds", type=int, help="wait this long after SIGTERM")
    delete = _command(containers, "delete", c.deleting("delete_container", "force"), "delete a container")
    _name(delete, "containers")
    delete.add_argument("--force", action="store_true", help="kill it first when running")

    images = kinds.add_parser("images", help="images on nodes").add_subparsers(dest="verb", required=True)
    _list(images, "zanepool.v1.Image", "list_images", "images")
    _name(_command(images, "get", c.one("get_image"), "show an image"), "images")
    pull = _command(images, "pull", c.images_pull, "pull an image onto a pool's nodes")
    pull.add_argument("parent", metavar="POOL", type=names.pool)
    pull.add_argument("image", metavar="IMAGE")
    pull.add_argument("--node", type=names.child("nodes"), help="only onto this node")
    delete = _command(images, "delete", c.deleting("delete_image", "force"), "delete an image from its node")
    _name(delete, "images")
    delete.add_argument("--force", action="store_true")

    for kind, singular, make in (
        ("volumes", "volume", c.volumes_create),
        ("networks", "network", c.networks_create),
    ):
        group = kinds.add_parser(kind, help=f"{kind} of pools").add_subparsers(dest="verb", required=True)
        _list(group, f"zanepool.v1.{singular.title()}", f"list_{kind}", kind)
        _name(_command(group, "get", c.one(f"get_{singular}"), f"show a {singular}"), kind)
        create = _command(group, "create", make, f"create a {singular}")
        create.add_argument("parent", metavar="POOL", type=names.pool)
        create.add_argument(f"{singular}_id", metavar="ID")
        create.add_argument("--driver")
        _labels(create)
        create.add_argument("--opt", action="append", metavar="KEY=VALUE", help="a driver option")
        if kind == "networks":
            create.add_argument("--subnet", action="append", metavar="CIDR")
            create.add_argument("--attachable", action="store_true")
            create.add_argument("--internal", action="store_true")
        create.add_argument("--validate-only", action="store_true")
        flags = ("force",) if kind == "volumes" else ()
        delete = _command(group, "delete", c.deleting(f"delete_{singular}", *flags), f"delete a {singular}")
        _name(delete, kind)
        if flags:
            delete.add_argument("--force", action="store_true")

    logs = _command(kinds, "logs", c.logs, "container logs of a pool, or of one container")
    logs.add_argument("parent", metavar="PARENT", type=names.stream_parent, help="POOL or POOL/CONTAINER")
    logs.add_argument("--tail", type=int, help="start with at most this many last lines of each container")
    logs.add_argument("--timestamps", action="store_true")
    events = _command(
        kinds,
        "events",
        c.events,
        "events of a pool (or '-': every pool); without -f, until the first heartbeat",
    )
    events.add_argument("parent", metavar="PARENT", type=names.pool, help="POOL, or - for every pool")
    for sub in (logs, events):
        sub.add_argument("-f", "--follow", action="store_true", help="keep printing until Ctrl-C")
        sub.add_argument("--filter")
        sub.add_argument("--since", type=_timestamp, help="RFC 3339 time, e.g. 2026-01-02T15:04:05Z")
    return top


def connect(args: argparse.Namespace) -> ZanePoolSyncClient:
    tls: bool | TlsConfig = TlsConfig.from_files(ca=args.tls_ca) if args.tls_ca else bool(args.tls)
    return ZanePoolSyncClient.connect(args.server, tls=tls, token=args.token, timeout=args.timeout)


def main(argv: Sequence[str] | None = None, out: IO[str] | None = None, err: IO[str] | None = None) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    words = list(sys.argv[1:] if argv is None else argv)
    command = words[words.index("--") + 1 :] if "--" in words else []
    args = parser().parse_args(words[: len(words) - len(command) - 1] if "--" in words else words)
    if command:
        if not hasattr(args, "command"):
            parser().error("only containers create takes a command after --")
        args.command = command
    try:
        with connect(args) as client:
            if args.run in (c.logs, c.events):
                args.run(client, args, out)
            else:
                out.write(args.run(client, args))
        return EXIT_OK
    except ZanePoolRpcError as exc:
        err.write(f"error: {exc}{_violations(exc)}\n")
        return exit_code(exc.code)
    except argparse.ArgumentTypeError as exc:
        err.write(f"zanepool: error: {exc}\n")
        return EXIT_USAGE
    except KeyboardInterrupt:
        return c.interrupted()
    except OSError as exc:
        err.write(f"error: {exc}\n")
        return EXIT_ERROR


def _violations(exc: ZanePoolRpcError) -> str:
    extra = [f"{v.field}: {v.description}" for v in exc.field_violations if v.description not in exc.message]
    return f" ({'; '.join(extra)})" if extra else ""


def run() -> None:
    """The console script."""
    try:
        sys.exit(main())
    except KeyboardInterrupt:  # Ctrl-C before or after a call
        sys.exit(c.interrupted())
