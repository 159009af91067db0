"""Framecast: prompt or timeline in, MP4 out, every result delivered."""

__version__ = "0.1.0"
