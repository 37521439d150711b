"""Demo retailer: a fictional French fashion and home brand used to fill an empty Parcours.
Pure data lives in ``parcours.demo.data``; its illustrations live in ``static/``."""
