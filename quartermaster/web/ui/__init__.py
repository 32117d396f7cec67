"""The dashboard at /ui/: its blueprint (pages.py) and the files it serves (static/, package data
of this package)."""
