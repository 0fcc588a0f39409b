"""The network process: Toxiproxy's API over the harness's fault proxies (`harness/net/proxy.py`), and the
virtual clock's authority."""
