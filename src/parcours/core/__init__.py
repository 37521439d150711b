"""Shared kernel: settings, database and unit of work, ids, money, errors, auth, outbox, i18n.

Emits no domain events of its own; it carries everyone else's to their handlers.
"""
