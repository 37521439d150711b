"""Messages to customers: emails rendered from templates (fr, en), kept in an outbox of messages
and delivered over SMTP with retries, after the consent check; erased with the customer.

Emits MessageSent.
"""
