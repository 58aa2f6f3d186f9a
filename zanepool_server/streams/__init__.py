"""Streaming machinery shared by logs and events: mailboxes, shared upstream feeds, cursors.

Pure asyncio, no gRPC and no cluster knowledge: the domain plugs driver reads into it.
"""
