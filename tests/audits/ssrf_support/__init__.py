"""Loopback-only helpers for the network-guard tests: a fake resolver, a connect
tripwire and small recording servers. Nothing here sends a packet off loopback."""
