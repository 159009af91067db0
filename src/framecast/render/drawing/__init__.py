"""Drawing: a scene of the timeline to yuv420p pixels, once per scene what can be, per frame only blends.

Each kind is registered in one place: backgrounds and settings in ``backgrounds.BACKGROUNDS``, layer types
in ``layers.LAYERS``, effects in ``effects.EFFECTS``, motions in ``motion.MOTIONS``, camera moves in
``camera.CAMERAS``.
"""
