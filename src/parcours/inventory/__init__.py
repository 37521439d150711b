"""Stock per variant and location, reservations with expiry, transfers, the ledger, availability.

Emits StockReserved, StockReleased, OutOfStock and BackInStock.
"""
