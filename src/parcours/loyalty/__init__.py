"""Promo codes (percent or amount off, with dates, a minimum, channels and a redemption cap) and
their redemptions by orders, given back when an order is cancelled.

Emits CouponRedeemed and CouponReleased.
"""
