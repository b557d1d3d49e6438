"""Deterministic, realistic seed data and the scenario loader."""
