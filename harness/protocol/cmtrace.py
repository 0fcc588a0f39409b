"""CMTrace log lines, the format of every ConfigMgr client and server log (B-55).

``<![LOG[<message>]LOG]!><time="HH:mm:ss.fff+<bias>" date="MM-dd-yyyy" component="<comp>" context=""
type="<1|2|3>" thread="<tid>" file="<src>">``

The time is the wall-clock time of the line's own time zone. The bias follows Windows
(``TIME_ZONE_INFORMATION.Bias``), as ConfigMgr's own logs do: minutes to *add* to local time to get UTC,
so UTC is ``+000``, UTC-8 is ``+480`` and UTC+1 is ``-060``. Times keep milliseconds only, and an offset
that is not a whole number of minutes is rounded down to one.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, timezone
from enum import IntEnum

from harness.protocol.errors import ProtocolError

# A client's smsts.log is capped at 5 MB during a task sequence (B-55); this leaves room for
# several while still bounding what a single parse will chew on.
MAX_LOG_CHARS = 32 * 1024 * 1024
_ENTRY = re.compile(
    r'<!\[LOG\[(?P<message>.*?)\]LOG\]!><time="(?P<time>[^"]*)" date="(?P<date>[^"]*)" '
    r'component="(?P<component>[^"]*)" context="(?P<context>[^"]*)" type="(?P<type>[^"]*)" '
    r'thread="(?P<thread>[^"]*)" file="(?P<file>[^"]*)">',
    re.DOTALL,
)
_TIME = re.compile(r"(\d{2}):(\d{2}):(\d{2})\.(\d{1,6})([+-]\d{1,4})")
_DATE = re.compile(r"(\d{2})-(\d{2})-(\d{4})")
_SEPARATOR = re.compile(r"[ \t\r\n]*")


class Severity(IntEnum):
    INFO = 1
    WARNING = 2
    ERROR = 3


@dataclass(frozen=True)
class LogLine:
    message: str
    component: str
    when: datetime  # tz-aware; a naive one is taken as UTC
    severity: Severity = Severity.INFO
    thread: int = 0
    file: str = ""


def format_line(line: LogLine) -> str:
    line = normalise(line)
    when = line.when
    clock = f"{when.hour:02d}:{when.minute:02d}:{when.second:02d}.{when.microsecond // 1000:03d}"
    stamp = f"{clock}{_bias(when):+04d}"
    date = f"{when.month:02d}-{when.day:02d}-{when.year:04d}"
    return (f'<![LOG[{line.message}]LOG]!><time="{stamp}" date="{date}" '
            f'component="{line.component}" context="" type="{int(line.severity)}" '
            f'thread="{line.thread}" file="{line.file}">')


def normalise(line: LogLine) -> LogLine:
    """The line as it reads back: milliseconds only, quotes in attributes made single (they would end it)."""
    when = line.when if line.when.tzinfo is not None else line.when.replace(tzinfo=UTC)
    when = when.replace(microsecond=when.microsecond // 1000 * 1000)
    when = when.astimezone(timezone(timedelta(minutes=-_bias(when))))
    if line.thread < 0:
        raise ValueError(f"CMTrace line: thread must not be negative, got {line.thread}")
    return replace(line, when=when, severity=Severity(line.severity),
                   component=line.component.replace('"', "'"), file=line.file.replace('"', "'"))


def _bias(when: datetime) -> int:
    offset = when.utcoffset() or timedelta(0)
    return -(offset // timedelta(minutes=1))


def parse_line(text: str) -> LogLine:
    stripped = text.strip("\r\n")
    match = _ENTRY.fullmatch(stripped)
    if match is None:
        raise ProtocolError(f"CMTrace line: {_why_not_entry(stripped)}")
    return _line_from(match, "CMTrace line")


def parse_log(text: str) -> list[LogLine]:
    """Every entry of a log. Entries are newline-separated, but a message may hold newlines itself."""
    if len(text) > MAX_LOG_CHARS:
        raise ProtocolError(f"CMTrace log: larger than {MAX_LOG_CHARS} characters")
    lines: list[LogLine] = []
    position = _skip_separators(text, 0)
    while position < len(text):
        match = _ENTRY.match(text, position)
        where = f"CMTrace log entry {len(lines) + 1} (line {text.count(chr(10), 0, position) + 1})"
        if match is None:
            raise ProtocolError(f"{where}: {_why_not_entry(text[position:])}")
        lines.append(_line_from(match, where))
        position = _skip_separators(text, match.end())
    return lines


def _skip_separators(text: str, position: int) -> int:
    match = _SEPARATOR.match(text, position)
    return match.end() if match else position


def _why_not_entry(text: str) -> str:
    if not text.startswith("<![LOG["):
        return f"does not start with <![LOG[: {text[:40]!r}"
    if "]LOG]!>" not in text:
        return "has no ]LOG]!> after the message"
    return ('attributes are not time="…" date="…" component="…" context="…" type="…" thread="…" '
            'file="…" closed by ">')


def _line_from(match: re.Match[str], where: str) -> LogLine:
    return LogLine(
        message=match["message"],
        component=match["component"],
        when=_when(match["time"], match["date"], where),
        severity=_severity(match["type"], where),
        thread=_thread(match["thread"], where),
        file=match["file"],
    )


def _when(time_text: str, date_text: str, where: str) -> datetime:
    time_match = _TIME.fullmatch(time_text)
    if time_match is None:
        raise ProtocolError(f"{where}: time {time_text!r} is not HH:mm:ss.fff+bias")
    date_match = _DATE.fullmatch(date_text)
    if date_match is None:
        raise ProtocolError(f"{where}: date {date_text!r} is not MM-dd-yyyy")
    hour, minute, second, fraction, bias = time_match.groups()
    month, day, year = date_match.groups()
    if abs(int(bias)) >= 24 * 60:
        raise ProtocolError(f"{where}: time zone bias {bias} is a day or more")
    try:
        return datetime(int(year), int(month), int(day), int(hour), int(minute), int(second),
                        int(fraction.ljust(6, "0")), tzinfo=timezone(timedelta(minutes=-int(bias))))
    except ValueError as error:
        raise ProtocolError(f"{where}: {date_text} {time_text} is not a real time ({error})") from None


def _severity(text: str, where: str) -> Severity:
    if text not in ("1", "2", "3"):
        raise ProtocolError(f"{where}: type {text!r} is not 1, 2 or 3")
    return Severity(int(text))


def _thread(text: str, where: str) -> int:
    if not text.isascii() or not text.isdigit() or len(text) > 20:
        raise ProtocolError(f"{where}: thread {text!r} is not a number")
    return int(text)


class CMTraceWriter:
    """One log file in memory; ``write`` may be called from several threads."""

    def __init__(self, component_default: str, clock: Callable[[], datetime]) -> None:
        self.component_default = component_default
        self._clock = clock
        self._lock = threading.Lock()
        self._text: list[str] = []
        self._lines: list[LogLine] = []

    def write(self, message: str, *, component: str | None = None, severity: Severity = Severity.INFO,
              thread: int = 0, file: str = "") -> str:
        line = normalise(LogLine(message, component or self.component_default, self._clock(), severity,
                                 thread, file))
        text = format_line(line)
        with self._lock:
            self._text.append(text)
            self._lines.append(line)
        return text

    def text(self) -> str:
        with self._lock:
            return "".join(f"{entry}\n" for entry in self._text)

    def lines(self) -> list[LogLine]:
        with self._lock:
            return list(self._lines)


__all__ = ["CMTraceWriter", "LogLine", "Severity", "format_line", "normalise", "parse_line", "parse_log"]
