"""Conversion of containers between the wire types and the domain's."""

from __future__ import annotations

from zanepool.v1 import resources_pb2 as pb
from zanepool_server.api.convert import timestamp
from zanepool_server.api.convert_storage import node_name
from zanepool_server.model import ContainerInfo, ContainerSpec, MountSpec, PortMapping, Resources


def _ports(items: list[PortMapping] | tuple[PortMapping, ...]) -> list[pb.PortMapping]:
    return [
        pb.PortMapping(
            container_port=p.container_port, host_port=p.host_port, protocol=p.protocol, host_ip=p.host_ip
        )
        for p in items
    ]


def _mounts(items: tuple[MountSpec, ...]) -> list[pb.Mount]:
    return [pb.Mount(type=m.type, source=m.source, target=m.target, read_only=m.read_only) for m in items]


def spec_in(msg: pb.Container) -> ContainerSpec:
    """The settable fields of a Container (CreateContainer); checking them is the domain's."""
    res = msg.resources
    return ContainerSpec(
        image=msg.image,
        command=tuple(msg.command),
        args=tuple(msg.args),
        env=dict(msg.env),
        labels=dict(msg.labels),
        ports=tuple(
            PortMapping(p.container_port, p.host_port, p.protocol or "tcp", p.host_ip) for p in msg.ports
        ),
        mounts=tuple(MountSpec(m.type, m.target, m.source, m.read_only) for m in msg.mounts),
        networks=tuple(msg.networks),
        restart_policy=msg.restart_policy,
        resources=Resources(
            res.cpu_limit, res.memory_limit_bytes, res.cpu_reservation, res.memory_reservation_bytes
        ),
        target_node=msg.target_node,
        constraints=tuple(msg.constraints),
        namespace=msg.namespace,
        replicas=msg.replicas,
        image_pull_policy=msg.image_pull_policy,
        tty=msg.tty,
    )


def container_out(pool_name: str, info: ContainerInfo) -> pb.Container:
    res = info.resources
    return pb.Container(
        name=f"{pool_name}/containers/{info.container_id}",
        image=info.image,
        command=info.command,
        args=info.args,
        env=info.env,
        labels=info.labels,
        node=node_name(pool_name, info.node_id),
        state=pb.Container.State.Value(f"STATE_{info.state.value}"),
        exit_code=info.exit_code,
        create_time=timestamp(info.create_time),
        start_time=timestamp(info.start_time),
        finish_time=timestamp(info.finish_time),
        ports=_ports(info.ports),
        mounts=_mounts(info.mounts),
        networks=info.networks,
        restart_policy=info.restart_policy,
        resources=pb.Resources(
            cpu_limit=res.cpu_limit,
            memory_limit_bytes=res.memory_limit_bytes,
            cpu_reservation=res.cpu_reservation,
            memory_reservation_bytes=res.memory_reservation_bytes,
        ),
        owner=info.owner,
        namespace=info.namespace,
        restart_count=info.restart_count,
        state_message=info.state_message,
        container_id=info.engine_container_id,
        image_pull_policy=info.image_pull_policy,
        tty=info.tty,
    )
