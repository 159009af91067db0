"""Write the timeline JSON Schema: ``python -m framecast.render.schema [docs/timeline.schema.json]``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from framecast.domain.timeline import timeline_json_schema


def schema_text() -> str:
    return json.dumps(timeline_json_schema(), indent=2, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    Path(args[0] if args else "docs/timeline.schema.json").write_text(schema_text())


if __name__ == "__main__":
    main()
