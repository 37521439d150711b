"""Payments: payment intents and refunds through providers (test cards, till, Stripe), pay-by-link.

Emits PaymentCaptured, PaymentFailed and PaymentRefunded.
"""
