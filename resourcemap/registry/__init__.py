"""Curator-side operations on the registry: writing organizations, demo and synthetic data."""
