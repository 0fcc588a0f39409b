"""What every served process of the harness stands on: the control plane (journal, faults, logs, reset, clock),
its middleware and error answers, the process runner (`python -m harness.service.serve SERVICE`), health checks
and TLS peer certificates. The emulators (`harness/emulators/`) and the client agent (`harness/client/`) are
built on it; it depends only on `harness/net/`, `harness/clock/`, `harness/model/` and `harness/protocol/`."""
