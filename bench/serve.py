"""``python -m bench.serve ARGS``: ``python -m zanepool_server ARGS``, stopped if the bench goes away."""

from __future__ import annotations

import sys

from bench.child import stop_when_parent_goes

if __name__ == "__main__":
    stop_when_parent_goes()
    from zanepool_server.app import main

    main(sys.argv[1:])
