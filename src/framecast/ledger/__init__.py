"""The ledger: the only SQLAlchemy code. Projects, tasks, assets and the per-project event log."""
