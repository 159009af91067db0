"""Encoding: drawn frames to files, and the files back: the last room of the renderer's pipeline.

``encode`` is the only module of Framecast that imports PyAV: the H.264 writer (``VideoWriter``), the
chunk join without re-encoding (``join_chunks``), AAC in and out, probing and decoding. ``chunks`` holds
the fixed GOP that every render shares and the GOP-aligned frame ranges of parallel chunk renders,
``info`` what a written file holds (``VideoInfo``), and ``probe`` the upload probe (the ``MediaProbe``
port: Pillow for images, PyAV for audio). Nothing here knows timelines or scenes: frames arrive as
``drawing.planes.Planes``.
"""
