"""The one cart of a shopper across channels: its lines and the touchpoint each came from, the
handoff code that opens it at a till or kiosk, live sync to every open device, merge on sign-in.

Emits CartUpdated.
"""
