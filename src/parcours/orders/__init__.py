"""Checkout and orders: fulfilment per group of lines (delivery, click-and-collect, reserve in
store, ship from store, in-store purchase, endless aisle), payment, lifecycle, returns anywhere.

Emits OrderPlaced, OrderPaid, OrderReadyForPickup, OrderCollected, OrderShipped, OrderDelivered,
OrderCancelled and OrderReturned.
"""
