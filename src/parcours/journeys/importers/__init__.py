"""Importers of real shopping histories into Parcours: the profiles, stores and products they
name go to the contexts' tables through their services; the journeys go to the lake, marked by
their origin so that importing again replaces them."""
