"""Jobs: Dramatiq actors (one per task kind), brokers, the task runner, the worker pool and reconciliation."""
