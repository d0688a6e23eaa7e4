"""Keyboards, built by functions from the translator (texts never inline)."""
