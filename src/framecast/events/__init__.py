"""Event hubs: wake up this process's streams when events commit (embedded: SQLite watcher)."""
