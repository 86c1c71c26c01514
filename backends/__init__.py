"""Solver backends."""
