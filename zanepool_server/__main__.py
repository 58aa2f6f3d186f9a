"""``python -m zanepool_server``: the same as the ``zanepool-server`` command."""

from zanepool_server.app import main

main()
