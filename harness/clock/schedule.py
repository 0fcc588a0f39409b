"""The clock authority's bookkeeping: who is busy, who sleeps until when, and when model time may move. Pure.

Model time is an integer number of microseconds since the model epoch. It moves only when no actor is busy,
and then straight to the earliest wake-up: nothing of the emulated world ever waits in real time for a modelled
duration, and a busy machine changes only how long the wait for "nobody is busy" takes, never what happens.

Actors in three states:
- busy: computing, or in a call the clock does not see (an HTTP request in flight);
- asleep: waiting on the clock until a model instant;
- idle: waiting for something outside the emulated world (the scenario waiting for runs to end); it neither
  holds time back nor is ever woken by it.

A busy actor whose process answers the authority's reports (a run in the client agent, a proxy or a service
holding a call on the clock) *settles*: it may really be waiting on I/O, which only its process can tell. While
only such actors are busy, the authority asks every process (`settle.py`) and releases the next wake-up only if
the whole world is quiet. The scenario and its timers do not settle: while they are busy, time stands still.

Wake-ups are released one at a time, each only when nobody is busy: two actors due at the same instant never
run side by side, so which one reaches a shared service first cannot depend on the machine. Ties go by actor
name, then by the order the waits were asked for. A run joins queued (asleep until now): twenty runs started
at one instant take their turns by name, one at a time, whatever order their threads start in.
"""

from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass, field
from enum import Enum


class ClockError(Exception):
    """An actor asked for something its state does not allow (sleeping while asleep, an unknown actor)."""


class State(Enum):
    BUSY = "busy"
    ASLEEP = "asleep"
    IDLE = "idle"


@dataclass(order=True)
class _Wake:
    due: int
    actor: str
    order: int
    generation: int = field(compare=False)  # the actor's sleep it belongs to; an older one is stale


@dataclass
class _Actor:
    settles: bool = False
    state: State = State.BUSY
    due: int | None = None
    generation: int = 0  # sleeps asked for; a wake-up of an older sleep is stale
    releases: int = 0  # wake-ups released to it: a report that it waits on I/O counts only if it has seen the last


class Schedule:
    """Actors, their wake-ups and the model time; `release()` says who runs next."""

    def __init__(self) -> None:
        self.now = 0
        self._actors: dict[str, _Actor] = {}
        self._wakes: list[_Wake] = []
        self._order = itertools.count()
        self._target: int | None = None  # a manual advance in progress: move to here once nothing is due before
        self.version = 0  # changes with every change of state: a settle taken across a change is void

    # -- actors ----------------------------------------------------------------------------------------------

    def join(self, actor: str, *, queued: bool = False, settles: bool = False) -> None:
        """A new actor, busy from now on; `queued`: asleep until now instead, so it waits for its turn;
        `settles`: its process reports whether it is really busy (see the module's doc)."""
        if actor in self._actors:
            raise ClockError(f"actor {actor!r} has already joined")
        self._actors[actor] = _Actor(settles=settles)
        self.version += 1
        if queued:
            self.sleep(actor, self.now)

    def leave(self, actor: str) -> None:
        """The actor is gone (its run ended, its connection closed); a wake-up it waited for is dropped."""
        self._actors.pop(actor, None)
        self.version += 1

    def sleep(self, actor: str, until: int) -> None:
        """The busy actor waits on the clock until `until` (never earlier than now)."""
        state = self._busy(actor, "sleep")
        state.state, state.due, state.generation = State.ASLEEP, max(until, self.now), state.generation + 1
        self.version += 1
        heapq.heappush(self._wakes, _Wake(state.due, actor, next(self._order), state.generation))

    def idle(self, actor: str) -> None:
        """The busy actor waits for something outside the clock; time may move without it."""
        self._busy(actor, "go idle").state = State.IDLE
        self.version += 1

    def resume(self, actor: str) -> None:
        """The idle actor acts again (busy); time stands still until it sleeps, idles or leaves."""
        state = self._known(actor)
        if state.state is State.ASLEEP:
            raise ClockError(f"actor {actor!r} is asleep until {state.due} µs; only the clock wakes it")
        state.state = State.BUSY
        self.version += 1

    def state(self, actor: str) -> State:
        return self._known(actor).state

    def releases(self, actor: str) -> int:
        return self._known(actor).releases

    @property
    def busy(self) -> list[str]:
        return sorted(name for name, actor in self._actors.items() if actor.state is State.BUSY)

    def to_settle(self) -> dict[str, int] | None:
        """The busy actors whose processes must say whether they are really busy (name -> wake-ups released to
        it), when a wake-up is due and only such actors are busy; None when no settle can release anything."""
        busy = {name: actor for name, actor in self._actors.items() if actor.state is State.BUSY}
        if not busy or not all(actor.settles for actor in busy.values()) or self._next_wake() is None:
            return None
        return {name: actor.releases for name, actor in sorted(busy.items())}

    # -- time ------------------------------------------------------------------------------------------------

    def release(self, *, settled: bool = False) -> str | None:
        """When nobody is busy: moves time to the earliest wake-up and makes that actor busy; returns its name.
        None while someone is busy or nobody waits on the clock (a manual advance then completes). `settled`: the
        processes of the busy actors said every one of them waits on I/O and nothing is on its way to them."""
        busy = [actor for actor in self._actors.values() if actor.state is State.BUSY]
        if busy and not (settled and all(actor.settles for actor in busy)):
            return None
        wake = self._next_wake()
        if wake is None or (self._target is not None and wake.due > self._target):
            self._finish_advance()
            return None
        heapq.heappop(self._wakes)
        self.now = max(self.now, wake.due)
        actor = self._actors[wake.actor]
        actor.state, actor.due, actor.releases = State.BUSY, None, actor.releases + 1
        self.version += 1
        return wake.actor

    def advance(self, microseconds: int) -> int:
        """By hand (a person at `cmg-harness up`): time moves `microseconds` on; wake-ups on the way are released
        in order as `release()` is called. Returns the target."""
        if microseconds < 0:
            raise ClockError(f"model time only moves forward (asked to move {microseconds} µs)")
        self._target = max(self._target or self.now, self.now + microseconds)
        self.version += 1
        return self._target

    def next_due(self) -> int | None:
        wake = self._next_wake()
        return None if wake is None else wake.due

    def reset(self) -> list[str]:
        """Back to the epoch with nobody asleep; returns the actors that were asleep (their waits are cancelled)."""
        sleepers = sorted(name for name, actor in self._actors.items() if actor.state is State.ASLEEP)
        for name in sleepers:
            self._actors.pop(name)
        self.now, self._wakes, self._target = 0, [], None
        self.version += 1
        return sleepers

    def snapshot(self) -> dict[str, object]:
        return {"now_us": self.now, "next_due_us": self.next_due(), "target_us": self._target,
                "actors": {name: {"state": actor.state.value, "due_us": actor.due, "settles": actor.settles}
                           for name, actor in sorted(self._actors.items())}}

    # -- inside ----------------------------------------------------------------------------------------------

    def _next_wake(self) -> _Wake | None:
        while self._wakes:
            wake = self._wakes[0]
            actor = self._actors.get(wake.actor)
            if actor is not None and actor.state is State.ASLEEP and actor.generation == wake.generation:
                return wake
            heapq.heappop(self._wakes)  # the actor left, or was woken by a reset: nobody waits for this one
        return None

    def _finish_advance(self) -> None:
        if self._target is not None:
            self.now, self._target = max(self.now, self._target), None
            self.version += 1

    def _known(self, actor: str) -> _Actor:
        state = self._actors.get(actor)
        if state is None:
            raise ClockError(f"no actor {actor!r} has joined the clock")
        return state

    def _busy(self, actor: str, what: str) -> _Actor:
        state = self._known(actor)
        if state.state is not State.BUSY:
            raise ClockError(f"actor {actor!r} cannot {what}: it is {state.state.value}, not busy")
        return state
