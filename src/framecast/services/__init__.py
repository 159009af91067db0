"""Use cases over ports: submit, snapshot, the event stream, cancel, retry, deliver, and the task pipeline."""
