"""Log lines and cluster events as drivers read them."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class LogStream(enum.StrEnum):
    STDOUT = "STDOUT"
    STDERR = "STDERR"
    TTY = "TTY"


@dataclass(slots=True)
class LogLine:
    """One line of one container: ``source`` is the container's id in its resource name.

    (``ts_ns``, ``index``) is the line's position in its container's log: the engine's
    timestamp, and the line's rank among lines of the same timestamp.

    Treat it as immutable (make a new one to change it). It is not a frozen dataclass only
    because a log stream makes one per line and a frozen one takes four times as long.
    """

    source: str
    ts_ns: int
    index: int
    text: str
    stream: LogStream = LogStream.STDOUT
    node_id: str = ""


@dataclass(frozen=True)
class ClusterEvent:
    """Something a cluster reported, normalised (Docker /events, Kubernetes Event objects)."""

    kind: str
    action: str
    resource: str
    ts_ns: int
    index: int = 0
    attributes: dict[str, str] = field(default_factory=dict)
    message: str = ""

    @property
    def source(self) -> str:
        return "cluster"
