"""The page a distribution point answers for a folder of its content vdirs (docs/distribution-point.md).

A real DP's `SMS_DP_SMSPKG$` is served by ConfigMgr's own handler, which maps package paths into the content
library; its folder pages are not IIS directory browsing. What public DP tools parse, and a real DP's pages
as sccm-http-looter's README shows them, fix this shape: no title, heading or "[To Parent Directory]" link;
one line per entry, `<date> <time> <size or &lt;dir&gt> <a href="<absolute URL>"><the URL></a>`, with
lower-case tags (the looter's patterns are case-sensitive) and `&lt;dir&gt` without its semicolon (the
looter's folder pattern wants exactly that; a browser still shows "<dir>").
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

# [INFERENCE] Column widths measured on the looter's screenshots of a real DP's pages: the date and the time
# right-aligned in 10 and 8 characters as IIS has them, the size (or "<dir>") in 16, where IIS uses 12.
_SIZE_WIDTH = 16
_FOLDER = "<dir>"


@dataclass(frozen=True)
class Entry:
    """A file (with its size) or a folder (size None): `name` is what a listing's link says, `href` where it
    leads (a WebDAV answer uses only the href)."""

    name: str
    href: str
    size: int | None
    modified: datetime


def listing_page(entries: Sequence[Entry]) -> str:
    """A DP's page for one folder: its entries, one a line, and nothing else. [INFERENCE] the markup around
    the lines (a `<pre>` in an otherwise empty page): the screenshots show only the lines."""
    return "<html><body><pre>" + "".join(_line(entry) for entry in entries) + "</pre></body></html>\r\n"


def _line(entry: Entry) -> str:
    size = f"{_FOLDER if entry.size is None else entry.size:>{_SIZE_WIDTH}}"
    # Padded as "<dir>", then escaped: the browser shows "<dir>" aligned with the sizes.
    size = size.replace(_FOLDER, "&lt;dir&gt")
    return (f"{_date(entry.modified):>10} {_time(entry.modified):>8} {size} "
            f'<a href="{html.escape(entry.href)}">{html.escape(entry.name)}</a><br>')


def _date(when: datetime) -> str:
    return f"{when.month:>2}/{when.day:>2}/{when.year}"  # "4/ 5/2023" in the screenshot: the day padded too


def _time(when: datetime) -> str:
    return f"{(when.hour % 12) or 12:>2}:{when.minute:02d} {'pm' if when.hour >= 12 else 'am'}"
