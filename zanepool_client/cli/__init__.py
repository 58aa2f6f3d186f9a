"""The ``zanepool`` command line (argparse over :class:`~zanepool_client.ZanePoolSyncClient`)."""

from zanepool_client.cli.app import main, run

__all__ = ["main", "run"]
