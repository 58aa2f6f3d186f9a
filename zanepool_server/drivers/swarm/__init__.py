"""The Swarm driver package: one Engine API client per engine, parsers, error translation."""

from zanepool_server.drivers.swarm.driver import CAPABILITIES, SwarmDriver

__all__ = ["CAPABILITIES", "SwarmDriver"]
