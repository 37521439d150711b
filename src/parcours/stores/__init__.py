"""Stores and warehouses: addresses, coordinates, time zones, opening hours, services, the locator.

Emits no events yet.
"""
