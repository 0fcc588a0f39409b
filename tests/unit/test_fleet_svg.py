"""A fleet's pictures are well-formed SVG that say what they show: titles, units, peaks, limits, counts."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from harness.model.fleet import Series, concurrent
from harness.reporting.fleet_svg import Line, histogram, lines_chart

SVG = "{http://www.w3.org/2000/svg}"


def _texts(svg: str) -> list[str]:
    root = ET.fromstring(svg)
    return [element.text or "" for element in root.iter(f"{SVG}text")]


def test_a_lines_chart_names_its_lines_their_peaks_and_the_limit() -> None:
    clients = concurrent([(0, 3600), (600, 7200), (1800, 5400)])
    svg = lines_chart("Concurrent clients", [Line("clients", clients), Line("downloads", Series(((0, 1.0),)))],
                      "clients", limit=("12,000 for 2 VMs", 2.5))
    texts = _texts(svg)
    assert "Concurrent clients" in texts and "model time" in texts and "clients" in texts
    assert "clients — peak 3" in texts and "downloads — peak 1" in texts
    assert "12,000 for 2 VMs (2.5)" in texts
    assert "2 h" in texts  # the axis in hours: the last point is at 7,200 s
    root = ET.fromstring(svg)
    assert len(list(root.iter(f"{SVG}polyline"))) == 2 and len(list(root.iter(f"{SVG}line"))) == 1


def test_a_histogram_counts_every_value_once() -> None:
    values = [60.0 * i for i in range(1, 101)]
    root = ET.fromstring(histogram("When clients finished", values, bins=10))
    titles = [t.text or "" for t in root.iter(f"{SVG}title")]
    assert sum(int(t.rsplit(": ", 1)[1].split()[0]) for t in titles) == 100
    texts = _texts(ET.tostring(root, encoding="unicode"))
    assert "100 clients, the last after 1.67 h" in texts
    assert [t for t in texts if t.endswith(("min", " h"))][:5] == ["0 min", "30 min", "1 h", "1.5 h", "2 h"]


def test_text_is_escaped() -> None:
    svg = lines_chart("A <b> & c", [Line("x<y", Series(((0, 1.0),)))], "a & b")
    assert "A <b> & c" in _texts(svg)  # parsed back: it was escaped on the way out
