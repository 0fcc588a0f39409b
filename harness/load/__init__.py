"""Real load through Locust: the harness's own emulated clients as Locust users, in real time.

`cmg-harness load` prepares a target (the CMG, the names, the CA, a deployment and the clients' credentials:
`target.py`, `prepare.py`), runs Locust in a process of its own (`locustfile.py`; Locust monkey-patches with
gevent on import, so never inside pytest or the harness's own process) and reads its CSV statistics back
(`runner.py`). Locust's master and workers spread it over processes and machines; the harness does not
distribute anything itself.
"""
