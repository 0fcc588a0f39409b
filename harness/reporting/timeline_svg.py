"""A run's timeline as a picture: steps and downloads against model time, one lane per source.

Plain SVG, so it needs no plotting library and opens in the Allure report and any browser.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from typing import Any

LANE_HEIGHT = 28
LABEL_WIDTH = 210
PLOT_WIDTH = 760
TOP = 30
COLOURS = {"succeeded": "#4c9a2a", "failed": "#c0392b", "step": "#2e6da4", "skipped": "#bbbbbb",
           "phase": "#8e44ad"}


@dataclass(frozen=True)
class Bar:
    lane: str
    start: float
    end: float
    label: str
    colour: str


def bars(timeline: list[dict[str, Any]]) -> list[Bar]:
    """Steps on the task sequence lane, pre-download/pre-cache on the client lane, downloads per source."""
    found: list[Bar] = []
    open_steps: dict[str, float] = {}
    open_downloads: dict[tuple[str, str], float] = {}
    phases: dict[str, float] = {}
    for event in timeline:
        kind, t = event["event"], float(event["t"])
        if kind == "step.start":
            open_steps[event["step"]] = t
        elif kind == "step.end" and event["step"] in open_steps:
            colour = COLOURS["step"] if event["result"] == "succeeded" else COLOURS["failed"]
            found.append(Bar("task sequence", open_steps.pop(event["step"]), t, event["step"], colour))
        elif kind == "download.start":
            open_downloads[(event["package"], event["source"])] = t
        elif kind == "download.end" and (event["package"], event["source"]) in open_downloads:
            start = open_downloads.pop((event["package"], event["source"]))
            found.append(Bar(event["source"], start, t, event["package"], COLOURS[event["result"]]))
        elif kind in ("predownload.start", "precache.start"):
            phases[kind.split(".")[0]] = t
        elif kind in ("predownload.end", "precache.end") and kind.split(".")[0] in phases:
            name = kind.split(".")[0]
            found.append(Bar("client", phases.pop(name), t, name.replace("predownload", "download all"),
                             COLOURS["phase"]))
    return found


def render(timeline: list[dict[str, Any]], title: str = "") -> str:
    drawn = bars(timeline)
    end = max([float(e["t"]) for e in timeline] + [1.0])
    lanes = list(dict.fromkeys(["task sequence", "client"] + [b.lane for b in drawn]))
    lanes = [lane for lane in lanes if any(b.lane == lane for b in drawn)] or ["task sequence"]
    height = TOP + LANE_HEIGHT * len(lanes) + 40

    def x(t: float) -> float:
        return LABEL_WIDTH + PLOT_WIDTH * t / end

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{LABEL_WIDTH + PLOT_WIDTH + 20}" height="{height}" '
             'font-family="Segoe UI, Helvetica, Arial, sans-serif" font-size="11">',
             f'<text x="8" y="18" font-size="13" font-weight="bold">{escape(title)}</text>']
    for index, lane in enumerate(lanes):
        y = TOP + index * LANE_HEIGHT
        parts.append(f'<text x="8" y="{y + 18}">{escape(lane)}</text>')
        parts.append(f'<line x1="{LABEL_WIDTH}" y1="{y + LANE_HEIGHT}" x2="{LABEL_WIDTH + PLOT_WIDTH}" '
                     f'y2="{y + LANE_HEIGHT}" stroke="#eeeeee"/>')
        for bar in (b for b in drawn if b.lane == lane):
            width = max(x(bar.end) - x(bar.start), 1.5)
            parts.append(f'<rect x="{x(bar.start):.1f}" y="{y + 4}" width="{width:.1f}" height="{LANE_HEIGHT - 8}" '
                         f'fill="{bar.colour}" stroke="white"><title>{escape(bar.label)}: '
                         f"{bar.start:.0f}–{bar.end:.0f} model s</title></rect>")
            if width > 40:
                parts.append(f'<text x="{x(bar.start) + 3:.1f}" y="{y + 18}" fill="white">{escape(bar.label)}</text>')
    axis_y = TOP + LANE_HEIGHT * len(lanes) + 14
    for tick in range(6):
        t = end * tick / 5
        parts.append(f'<text x="{x(t):.1f}" y="{axis_y}" text-anchor="middle">{t / 60:.1f} min</text>')
    parts.append(f'<text x="{LABEL_WIDTH}" y="{axis_y + 16}" fill="#666666">model time since Install</text></svg>')
    return "\n".join(parts)
