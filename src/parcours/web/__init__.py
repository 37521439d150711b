"""The user interfaces: server-rendered pages, templates and static files.

Emits no events; pages call the contexts' services like the JSON API does.
"""
