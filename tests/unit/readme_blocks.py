"""The README's code blocks by section, for the tests that run them as written."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def blocks(heading: str, lang: str) -> list[str]:
    """Every ```lang block of the README section that starts with ``heading`` (up to the next heading)."""
    text = README.read_text()
    assert heading in text, f"README has no section {heading!r}"
    section = re.split(r"\n#{2,3} ", text.split(heading, 1)[1], maxsplit=1)[0]
    found = re.findall(rf"```{lang}\n(.*?)```", section, re.S)
    assert found, f"no ```{lang} block in README section {heading!r}"
    return found


def commands(heading: str) -> list[str]:
    """The command lines of the section's bash blocks (comments and blank lines dropped)."""
    out = []
    for b in blocks(heading, "bash"):
        out += [ln.split("  #")[0].strip() for ln in b.splitlines() if ln.strip() and not ln.startswith("#")]
    return out
