"""Model time for the emulated world: a real clock scaled, or a virtual clock that jumps when everyone waits.

- `schedule.py`: the authority's bookkeeping (actors, wake-ups, when time may move); pure.
- `shared.py`: the current model time in a small shared file every process of the environment maps.
- `authority.py`: the clock authority, a TCP server in the network process that actors talk to.
- `actor.py`: an actor's side (a client's run, the scenario): join, sleep on model time, wait outside it.

harness.model.units.ModelClock is what the rest of the harness uses; it hides which clock is in force.
"""
