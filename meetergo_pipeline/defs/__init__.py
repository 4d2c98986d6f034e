"""Dagster objects of the code location: thin wrappers over the plain modules they call."""
