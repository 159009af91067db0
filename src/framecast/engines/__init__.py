"""Engines: what generates a project's frames (procedural, local diffusion, hosted video APIs)."""
