"""Products, variants (SKU, GTIN-13), categories, prices, media, channel publication, search, QR codes.

Emits ProductPublished and PriceChanged.
"""
