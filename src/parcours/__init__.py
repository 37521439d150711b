"""Parcours: an omnichannel customer-journey platform for retailers.

Every medium is a store: one customer, one cart, one stock and one history across channels.
"""

__version__ = "0.1.0"
