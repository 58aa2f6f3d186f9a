"""The domain: pools, their drivers' connections, the health monitor, list queries."""
