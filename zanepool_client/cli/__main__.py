"""``python -m zanepool_client.cli``: the ``zanepool`` command."""

from zanepool_client.cli.app import run

run()
