"""Products, variants (SKU, GTIN-13), categories, prices, media, channel publication, search and
product QR codes. Emits ProductPublished and PriceChanged.
"""
