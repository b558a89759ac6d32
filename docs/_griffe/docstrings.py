"""A Griffe extension that lets mkdocstrings render headwater's docstrings.

headwater's docstrings are Google style, written to read well in ``help()``
and to run as doctests. Three habits of that style do not render as Markdown,
so this extension rewrites the docstring text (not the source) before
mkdocstrings parses it:

- ``>>>`` doctest blocks outside an ``Examples:`` section (under ``Example:``
  or in free text) become fenced ``pycon`` code blocks;
- Sphinx roles (``:class:`Flow```, ``:meth:`~Task.run```) become code spans;
- a paragraph ending in ``::`` (a reST literal block follows) ends in ``:``.

It is loaded by ``mkdocs.yml`` (``plugins.mkdocstrings...extensions``) and is
excluded from the built site.
"""

from __future__ import annotations

import re
import textwrap
from typing import Any

from griffe import Extension, Object

_ROLE = re.compile(r":(?:class|meth|func|mod|attr|exc|data|obj|const):`~?([^`]+)`")
_PROMPT = re.compile(r"^(\s*)>>> ?")
_SECTION = re.compile(r"^(\s*)([A-Z][A-Za-z ]*):\s*$")


def rewrite(text: str) -> str:
    """The docstring ``text``, rewritten to render as Markdown (see above)."""
    lines = _ROLE.sub(r"``\1``", text).splitlines()
    out: list[str] = []
    section: tuple[str, int] | None = None  # (name, indent) of the current section
    position = 0
    while position < len(lines):
        line = lines[position]
        indent = len(line) - len(line.lstrip())
        if line.strip() and section is not None and indent <= section[1]:
            section = None
        header = _SECTION.match(line)
        following = lines[position + 1] if position + 1 < len(lines) else ""
        # As in Griffe, a header is followed by a more indented, non-blank line.
        if header and following.strip() and following.startswith(header.group(1) + " "):
            section = (header.group(2), len(header.group(1)))
        if _PROMPT.match(line) and (section is None or section[0] != "Examples"):
            # Free text must not be indented (Markdown would make it a code
            # block); a section's contents are indented one level.
            base = "" if section is None else " " * (section[1] + 4)
            block = []
            while position < len(lines) and lines[position].strip():
                block.append(lines[position])
                position += 1
            block = textwrap.dedent("\n".join(block)).splitlines()
            out.extend([f"{base}```pycon", *(base + b for b in block), f"{base}```"])
            continue
        if line.strip() == "::":
            line = ""
        elif line.rstrip().endswith("::"):
            line = line.rstrip()[:-1]
        out.append(line)
        position += 1
    return "\n".join(out)


class DoctestBlocks(Extension):
    """Rewrite each docstring with :func:`rewrite` as objects are loaded."""

    def on_instance(self, *, obj: Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = rewrite(obj.docstring.value)
