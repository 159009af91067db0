"""Words to scenes: the planner and its lexicons (themes and styles, subjects, verbs, settings, titles).

Pure Python over the timeline's models: nothing here draws. The subject lexicon reads the names and
keywords of the illustration set (``drawing.artwork``) so that every noun it can show is reachable.
"""
