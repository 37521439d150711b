"""Customer profiles and their identity graph (anonymous ids, user ids, emails, phones, loyalty
cards, devices), merges and their undo, consents per purpose, GDPR export and erasure.

Emits CustomerIdentified, ProfilesMerged, ProfilesUnmerged, ConsentChanged and CustomerErased.
"""
