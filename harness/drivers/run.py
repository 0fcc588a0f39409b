"""A finished run as a scenario reads it: outcome, timeline queries, logs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class RunResult:
    state: dict[str, Any]
    logs: dict[str, str]

    @property
    def status(self) -> str:
        return str(self.state["status"])

    @property
    def exit_code(self) -> str:
        return str(self.state["exit_code"])

    @property
    def reason(self) -> str:
        return str(self.state["reason"])

    @property
    def timeline(self) -> list[dict[str, Any]]:
        return list(self.state["timeline"])

    def events(self, kind: str, **match: Any) -> list[dict[str, Any]]:
        return [e for e in self.timeline if e["event"] == kind and all(e.get(k) == v for k, v in match.items())]

    def first(self, kind: str, **match: Any) -> dict[str, Any]:
        found = self.events(kind, **match)
        if not found:
            raise AssertionError(f"no {kind} event matching {match} on the timeline:\n{self.describe()}")
        return found[0]

    def downloads(self, package: str | None = None) -> list[dict[str, Any]]:
        """Completed download attempts (download.end events), optionally for one package."""
        ends = self.events("download.end")
        return [e for e in ends if package is None or e["package"] == package]

    def step_results(self) -> dict[str, str]:
        return {e["step"]: e["result"] for e in self.events("step.end")}

    def figures(self) -> dict[str, Any]:
        """Model-time figures for the run summary."""
        ts_start = next((e["t"] for e in self.timeline if e["event"] == "ts.start"), None)
        ts_end = next((e["t"] for e in self.timeline if e["event"] == "ts.end"), None)
        first_step = next((e["t"] for e in self.timeline if e["event"] == "step.start"), None)
        done = [e for e in self.downloads() if e["result"] == "succeeded"]
        return {"status": self.status, "exit_code": self.exit_code,
                "ts_start_model_s": ts_start, "first_step_model_s": first_step,
                "ts_duration_model_s": None if ts_start is None or ts_end is None else round(ts_end - ts_start, 3),
                "run_model_s": self.timeline[-1]["t"] if self.timeline else None,
                "downloads": len(done), "downloaded_model_bytes": sum(e.get("model_bytes", 0) for e in done)}

    def describe(self) -> str:
        """The timeline as a readable table, for failure messages and reports."""
        rows = [f"{e['t']:>10.1f}  {e['event']:<18} " + ", ".join(f"{k}={v}" for k, v in e.items()
                                                                 if k not in ("t", "event"))
                for e in self.timeline]
        return "   model s  event\n" + "\n".join(rows)
