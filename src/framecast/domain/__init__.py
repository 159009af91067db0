"""Pure domain: statuses, records, options, the timeline schema and errors. No I/O, no frameworks."""
