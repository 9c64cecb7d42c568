"""RESULTS.md holds one section per benchmark script, each between its own start and end markers."""

from __future__ import annotations

from pathlib import Path


def replace_section(path, text: str, start: str, end: str) -> Path:
    """Put ``text`` (its own ``start`` … ``end`` markers included) where that section stands in ``path``.

    The other scripts' sections stay as they are. A file without the section gets it appended; a
    start marker without its end is refused, since cutting to the end of the file would drop the
    sections after it.
    """
    path = Path(path)
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    if start in old and end not in old:
        raise SystemExit(f"{path}: {start} without {end}; put the end marker back after that section")
    if start in old:
        before = old[:old.index(start)]
        after = old[old.index(end) + len(end):].lstrip("\n")
    else:
        before, after = (old.rstrip() + "\n\n" if old.strip() else "# Benchmarks\n\n"), ""
    path.write_text(before + text.rstrip("\n") + "\n" + ("\n" + after if after else ""), encoding="utf-8")
    return path
