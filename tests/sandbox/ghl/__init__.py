"""Fidelity and behaviour tests of the GHL stand-in."""
