"""Who is calling: staff accounts with roles and store scopes, sessions, API keys, access policies.

Emits no domain events.
"""
