"""The little markup the reference page needs: the document's descriptions use inline Markdown (code, bold)."""

from __future__ import annotations

import re
from typing import Final

from markupsafe import Markup, escape

_CODE: Final = re.compile(r"`([^`]+)`")
_BOLD: Final = re.compile(r"\*\*([^*]+)\*\*")


def inline_markdown(text: str | None) -> Markup:
    """``text`` escaped, with `code` and **bold** rendered (nothing else: descriptions are single paragraphs)."""
    html = str(escape((text or "").replace("``", "`")))  # docstrings use reStructuredText's double backticks
    html = _CODE.sub(r"<code>\1</code>", html)
    return Markup(_BOLD.sub(r"<b>\1</b>", html))  # safe: built from escaped text
