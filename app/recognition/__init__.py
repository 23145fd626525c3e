"""Recognizers (what an image shows) and the enricher (what it means for a pantry)."""
