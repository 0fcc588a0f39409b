"""A fleet's percentiles table and pictures say what its clients' runs add up to."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from harness.model.fleet import ClientKind, ClientOutcome
from harness.reporting.fleet_report import percentiles_table, pictures

TOKEN = ClientKind("internet", "token")
SVG = "{http://www.w3.org/2000/svg}"


def _outcomes() -> list[ClientOutcome]:
    found = [ClientOutcome(f"F{i:03d}", ClientKind(), 0.0, float(i), float(i), 100, 2.0, None, 1.0)
             for i in range(1, 101)]
    found.append(ClientOutcome("F999", TOKEN, 0.0, None, 5.0, 0, 1.0, "0x801901F7"))
    return found


def test_the_table_gives_each_kinds_percentiles_and_failures() -> None:
    table = percentiles_table(_outcomes()).splitlines()
    assert table[0].split()[:3] == ["clients", "count", "failed"]
    all_clients = table[2].split()
    assert all_clients[:5] == ["all", "clients", "101", "1", "50"]  # p50 of 1…100 s is 50 s
    assert any(line.startswith("internet token") and line.split()[2:4] == ["1", "1"] for line in table)


def test_the_pictures_are_the_three_the_report_shows() -> None:
    shown = pictures(_outcomes(), {"capacity": 6000, "vms": 1, "vm_size": "Standard (A2_v2)",
                                   "egress": {"critical_bytes": 9e12}})
    assert sorted(shown) == ["fleet: CMG outbound data", "fleet: clients and downloads",
                             "fleet: upgrade step started"]
    assert all(svg.startswith("<svg") for svg in shown.values())
    texts = [t.text for t in ET.fromstring(shown["fleet: clients and downloads"]).iter(f"{SVG}text")]
    assert "the CMG's places (1 × Standard (A2_v2)) (6,000)" in texts
