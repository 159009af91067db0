"""Write one section of docs/benchmarks.md, leaving the other sections as they are."""

from __future__ import annotations

import re
from pathlib import Path

DOC = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
HEADER = "# Benchmarks\n\nEach section is written by one script in `bench/`; every comparison in a section ran side by side in one run on the same machine (2 cores, noisy), so compare within a section, not across.\n"


def write_section(title: str, body: str) -> None:
    DOC.parent.mkdir(parents=True, exist_ok=True)
    text = DOC.read_text() if DOC.exists() else HEADER
    section = f"## {title}\n\n{body.strip()}\n"
    pattern = re.compile(rf"^## {re.escape(title)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _: section + "\n", text)
    else:
        text = text.rstrip() + "\n\n" + section
    DOC.write_text(text.rstrip() + "\n")


def paired_verdict(ratios: list[float], budget: float) -> tuple[str, str]:
    """Judge "adds at most ``budget``" from paired measurements (``ratios``: each pair's b/a - 1).

    The median of the pairs, with ±2 standard errors of the median (1.2533 σ/√n): "met" when even its upper
    end is within the budget, "NOT met" when even its lower end is over it, and "not resolved" when the
    noise of this machine is wider than the budget. Returns the verdict and its figures as text.

    >>> paired_verdict([0.01, -0.02, 0.0, 0.02, -0.01], 0.05)[0]
    'met'
    >>> paired_verdict([0.3, -0.4, 0.5, -0.2, 0.1], 0.05)[0]
    'not resolved'
    """
    import math
    import statistics

    median = statistics.median(ratios)
    se = 1.2533 * statistics.stdev(ratios) / math.sqrt(len(ratios)) if len(ratios) > 1 else math.inf
    if median + 2 * se <= budget:
        verdict = "met"
    elif median - 2 * se > budget:
        verdict = "NOT met"
    else:
        verdict = "not resolved"
    return verdict, f"{median:+.1%} ± {2 * se:.1%} (median of {len(ratios)} pairs ± 2 s.e.)"
