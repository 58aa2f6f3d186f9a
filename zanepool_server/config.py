"""Server settings: command-line flags, each with a ``ZANEPOOL_*`` environment twin."""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "zanepool"


@dataclass(frozen=True)
class Settings:
    listen: str = "127.0.0.1:50051"
    data_dir: Path = Path()
    mongodb_uri: str = ""
    database: str = "zanepool"
    monitor_interval: float = 10.0
    monitor_concurrency: int = 8
    monitor_timeout: float = 5.0
    default_timeout: float = 30.0
    shutdown_grace: float = 10.0
    log_level: str = "info"
    log_format: str = "text"
    stream_heartbeat: float = 15.0
    stream_buffer: int = 1000


# flag, type, help; the environment twin is ZANEPOOL_<FLAG IN UPPER SNAKE>.
_FLAGS: tuple[tuple[str, type, str], ...] = (
    ("listen", str, "address to serve gRPC on (host:port; port 0 picks one)"),
    ("data-dir", Path, "folder of the embedded store (default: the user's data folder)/zanepool"),
    ("mongodb-uri", str, "MongoDB to use instead of the embedded store (a replica set in production)"),
    ("database", str, "MongoDB database name"),
    ("monitor-interval", float, "seconds between health rounds of every pool"),
    ("monitor-concurrency", int, "pools synced at once by the health monitor"),
    ("monitor-timeout", float, "seconds one pool's sync may take"),
    ("default-timeout", float, "deadline of a call whose caller sets none (and the longest one served)"),
    ("shutdown-grace", float, "seconds in-flight calls get to finish on SIGTERM"),
    ("log-level", str, "debug, info, warning or error"),
    ("log-format", str, "text (key=value) or json"),
    ("stream-heartbeat", float, "seconds of silence after which a log or event stream gets a heartbeat"),
    ("stream-buffer", int, "messages a slow stream subscriber may fall behind before it loses the newest"),
)


def parse(argv: Sequence[str] | None = None, env: dict[str, str] | None = None) -> Settings:
    env = dict(os.environ) if env is None else env
    defaults = Settings(data_dir=default_data_dir())
    parser = argparse.ArgumentParser(
        prog="zanepool-server",
        description="Zane Pool: one gRPC control plane over many Docker Swarm and Kubernetes clusters.",
        epilog="Every flag can also be set by its environment twin, e.g. ZANEPOOL_LISTEN.",
    )
    for flag, kind, help_text in _FLAGS:
        attr = flag.replace("-", "_")
        env_name = "ZANEPOOL_" + attr.upper()
        default = getattr(defaults, attr)
        if env_name in env:
            try:
                default = kind(env[env_name])
            except ValueError:
                parser.error(f"{env_name}={env[env_name]!r} is not a valid {kind.__name__}")
        parser.add_argument(f"--{flag}", type=kind, default=default, help=f"{help_text} [{env_name}]")
    ns = parser.parse_args(argv)
    settings = Settings(**vars(ns))
    if settings.log_format not in ("text", "json"):
        parser.error("--log-format is text or json")
    if settings.stream_buffer < 1:
        parser.error("--stream-buffer must be at least 1")
    for name in ("monitor_interval", "monitor_timeout", "default_timeout", "stream_heartbeat"):
        if getattr(settings, name) <= 0:
            parser.error(f"--{name.replace('_', '-')} must be positive")
    if settings.monitor_concurrency < 1:
        parser.error("--monitor-concurrency must be at least 1")
    return settings
