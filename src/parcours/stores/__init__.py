"""Stores and warehouses: addresses, coordinates, time zones, opening hours, services, the locator,
and the calls for an adviser that shoppers make from a store's kiosk or their phone.

Emits AdviceRequested and AdviceTaken; forgets a person's calls on CustomerErased.
"""
