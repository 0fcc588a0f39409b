import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest

from harness.protocol.cmtrace import CMTraceWriter, LogLine, Severity, format_line, parse_line, parse_log
from harness.protocol.errors import ProtocolError

NOON = datetime(2021, 1, 19, 13, 27, 45, 467000, tzinfo=UTC)
# A line as TSManager writes it on a machine in UTC-5 (bias +300).
REAL_LINE = (
    '<![LOG[Processing 0 locations.]LOG]!><time="08:27:45.467+300" date="01-19-2021" '
    'component="OSDDownloadContent" context="" type="1" thread="4716" file="resolvesource.cpp:2665">'
)


def test_format_line_in_utc() -> None:
    line = LogLine(
        "Request was successful.", "TSManager", NOON, Severity.WARNING, 42, "libsmsmessaging.cpp:1"
    )
    assert format_line(line) == (
        '<![LOG[Request was successful.]LOG]!><time="13:27:45.467+000" date="01-19-2021" '
        'component="TSManager" context="" type="2" thread="42" file="libsmsmessaging.cpp:1">'
    )


@pytest.mark.parametrize(
    ("hours", "stamp"), [(-8, "05:27:45.467+480"), (1, "14:27:45.467-060"), (5.5, "18:57:45.467-330")]
)
def test_bias_is_minutes_to_add_to_local_time_for_utc(hours: float, stamp: str) -> None:
    when = NOON.astimezone(timezone(timedelta(hours=hours)))
    assert f'time="{stamp}"' in format_line(LogLine("m", "c", when))


def test_parse_a_real_line() -> None:
    line = parse_line(REAL_LINE)
    assert line == LogLine(
        "Processing 0 locations.", "OSDDownloadContent", NOON, Severity.INFO, 4716, "resolvesource.cpp:2665"
    )
    assert line.when.utcoffset() == timedelta(hours=-5)


def test_round_trip_keeps_milliseconds_only() -> None:
    line = LogLine("m", "c", NOON.replace(microsecond=467999), Severity.ERROR)
    assert parse_line(format_line(line)).when == NOON


def test_naive_time_is_taken_as_utc() -> None:
    assert 'time="13:27:45.467+000"' in format_line(LogLine("m", "c", NOON.replace(tzinfo=None)))


def test_quotes_in_attributes_become_single_quotes() -> None:
    line = parse_line(format_line(LogLine('say "hi"', 'a"b', NOON, file='x"y')))
    assert (line.message, line.component, line.file) == ('say "hi"', "a'b", "x'y")


def test_parse_log_handles_multi_line_messages_and_markup() -> None:
    xml = '<ContentLocationReply SchemaVersion="1.00">\n<Sites/></ContentLocationReply>'
    lines = [
        LogLine(f"ContentLocationReply : {xml}", "LocationServices", NOON),
        LogLine("second", "LocationServices", NOON, Severity.ERROR),
    ]
    text = "\r\n".join(format_line(line) for line in lines) + "\r\n"
    assert parse_log(text) == lines


def test_parse_log_of_nothing() -> None:
    assert parse_log("") == []
    assert parse_log("\n\n") == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("hello", r"^CMTrace line: does not start with <!\[LOG\["),
        ("<![LOG[hello", r"^CMTrace line: has no \]LOG\]!>"),
        ('<![LOG[m]LOG]!><time="1" date="x">', r"^CMTrace line: attributes are not time="),
        (
            REAL_LINE.replace("08:27:45.467", "8:27"),
            r"^CMTrace line: time '8:27\+300' is not HH:mm:ss.fff\+bias",
        ),
        (
            REAL_LINE.replace("01-19-2021", "2021-01-19"),
            r"^CMTrace line: date '2021-01-19' is not MM-dd-yyyy",
        ),
        (REAL_LINE.replace("01-19-2021", "13-19-2021"), r"^CMTrace line: 13-19-2021 .* is not a real time"),
        (REAL_LINE.replace('type="1"', 'type="4"'), r"^CMTrace line: type '4' is not 1, 2 or 3"),
        (
            REAL_LINE.replace('thread="4716"', 'thread="0x126C"'),
            r"^CMTrace line: thread '0x126C' is not a number",
        ),
        (REAL_LINE.replace("+300", "+1440"), r"^CMTrace line: time zone bias \+1440 is a day or more"),
    ],
)
def test_parse_line_errors_name_the_problem(text: str, message: str) -> None:
    with pytest.raises(ProtocolError, match=message):
        parse_line(text)


def test_parse_log_errors_name_the_entry() -> None:
    with pytest.raises(ProtocolError, match=r"^CMTrace log entry 2 \(line 2\): does not start with"):
        parse_log(f"{REAL_LINE}\ngarbage\n")


def test_writer_appends_formatted_lines() -> None:
    writer = CMTraceWriter("TSManager", lambda: NOON)
    first = writer.write("one")
    writer.write("two", component="OSDDownloadContent", severity=Severity.ERROR, thread=7, file="a.cpp:1")
    assert writer.text() == f"{first}\n{writer.text().splitlines()[1]}\n"
    assert writer.lines() == parse_log(writer.text())
    assert [(line.component, line.severity) for line in writer.lines()] == [
        ("TSManager", Severity.INFO),
        ("OSDDownloadContent", Severity.ERROR),
    ]


def test_writer_is_thread_safe() -> None:
    writer = CMTraceWriter("TSManager", lambda: NOON)

    def spam(thread: int) -> None:
        for index in range(200):
            writer.write(f"message {index}", thread=thread)

    workers = [threading.Thread(target=spam, args=(n,)) for n in range(8)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert len(parse_log(writer.text())) == len(writer.lines()) == 1600
