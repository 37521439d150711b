"""Event collection (Segment-compatible HTTP API), the append-only event store, sessions, channels.

Emits EventReceived.
"""
