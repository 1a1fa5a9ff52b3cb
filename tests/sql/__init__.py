"""Shared tests of the SQL connectors."""
