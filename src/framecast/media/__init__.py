"""Stored files: a local directory (embedded and shared-disk deployments) or an S3-compatible bucket."""
