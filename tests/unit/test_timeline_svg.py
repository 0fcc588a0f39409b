from defusedxml import ElementTree

from harness.reporting.timeline_svg import bars, render

TIMELINE = [
    {"t": 0.0, "event": "install.requested"},
    {"t": 10.0, "event": "step.start", "step": "Check Readiness"},
    {"t": 130.0, "event": "step.end", "step": "Check Readiness", "result": "succeeded"},
    {"t": 131.0, "event": "step.start", "step": "Upgrade"},
    {"t": 140.0, "event": "download.start", "package": "PS100011", "source": "cmg.contoso.example"},
    {"t": 150.0, "event": "download.end", "package": "PS100011", "source": "cmg.contoso.example", "result": "failed"},
    {"t": 165.0, "event": "download.start", "package": "PS100011", "source": "cmg.contoso.example"},
    {"t": 200.0, "event": "download.end", "package": "PS100011", "source": "cmg.contoso.example",
     "result": "succeeded"},
    {"t": 2600.0, "event": "step.end", "step": "Upgrade", "result": "succeeded"},
]


def test_steps_and_each_download_attempt_become_bars_in_their_lanes() -> None:
    found = [(b.lane, b.label, b.start, b.end) for b in bars(TIMELINE)]
    assert found == [("task sequence", "Check Readiness", 10.0, 130.0),
                     ("cmg.contoso.example", "PS100011", 140.0, 150.0),
                     ("cmg.contoso.example", "PS100011", 165.0, 200.0),
                     ("task sequence", "Upgrade", 131.0, 2600.0)]


def test_the_picture_is_well_formed_svg_with_a_lane_per_source() -> None:
    svg = render(TIMELINE, "PS120001 on CLIENT01 <internet>")
    root = ElementTree.fromstring(svg)
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert "task sequence" in texts and "cmg.contoso.example" in texts
    assert "PS120001 on CLIENT01 <internet>" in texts  # escaped in the file, intact once parsed
    assert len(list(root.iter("{http://www.w3.org/2000/svg}rect"))) == 4
