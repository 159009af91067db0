"""Stored files: a local directory (embedded and shared-disk deployments)."""
