"""Given steps about clients: where they are, their Cloud Services client settings and their network link."""

from __future__ import annotations

from pytest_bdd import given, parsers

from harness.drivers.agent import AgentDriver
from harness.drivers.site import SiteDriver
from steps.vocabulary import CLIENT_SETTINGS

YES_NO = {"yes": True, "no": False}


def _create(agent: AgentDriver, name: str, network: str, **settings: bool) -> str:
    agent.create_client(name, network=network, **settings)
    return name


@given(parsers.re(r"an (?P<network>internet|intranet) client (?P<name>[A-Z0-9-]+)$"), target_fixture="client")
def client_on(agent: AgentDriver, network: str, name: str) -> str:
    """Creates a PKI client (a client authentication certificate from the test CA); an internet client can
    resolve only internet names, so it finds itself on the internet."""
    return _create(agent, name, network)


@given(parsers.re(r"an (?P<network>internet|intranet) client (?P<name>[A-Z0-9-]+) with a site-issued token$"),
       target_fixture="client")
def client_with_token(agent: AgentDriver, site: SiteDriver, network: str, name: str) -> str:
    """Creates a client without a certificate that authenticates with a site-issued (bulk registration) token."""
    agent.create_client(name, network=network, site_token=site.registration_token(name))
    return name


@given(parsers.re(r'an (?P<network>internet|intranet) client (?P<name>[A-Z0-9-]+) with client setting '
                  r'"(?P<setting>[^"]+)" set to (?P<value>Yes|No)$'), target_fixture="client")
def client_with_setting(agent: AgentDriver, network: str, name: str, setting: str, value: str) -> str:
    """Creates a client with one Cloud Services client setting changed (Yes/No)."""
    return _create(agent, name, network, **{CLIENT_SETTINGS(setting): YES_NO[value.lower()]})


@given(parsers.re(r"an (?P<network>internet|intranet) client (?P<name>[A-Z0-9-]+) with a client cache of "
                  r"(?P<size>\d+(?:\.\d+)? ?[KMGT]B)$"), target_fixture="client")
def client_with_cache(agent: AgentDriver, network: str, name: str, size: str) -> str:
    """Creates a client whose "Maximum cache size" (Client Cache Settings) is the given model size."""
    agent.create_client(name, network=network, cache_size=size)
    return name


@given(parsers.re(r"an (?P<network>internet|intranet) client (?P<name>[A-Z0-9-]+) in AD site (?P<ad_site>[\w.-]+)$"),
       target_fixture="client")
def client_in_ad_site(agent: AgentDriver, network: str, name: str, ad_site: str) -> str:
    """Creates a PKI client whose location requests name this AD site (its boundary); on the internet, a laptop
    of that office away from it."""
    agent.create_client(name, network=network, ad_site=ad_site)
    return name


# A bandwidth as features write it ("20 Mbit/s", "100 Mbps"); the agent parses it (harness.model.units).
_BANDWIDTH = r"(?P<bandwidth>\d+(?:\.\d+)? ?[A-Za-z]+(?:/s)?)"


@given(parsers.re(rf"the client's link is {_BANDWIDTH}$"))
def client_link(agent: AgentDriver, client: str, bandwidth: str) -> None:
    """The client's network link from now on, in model units: it carries that bandwidth each way."""
    agent.set_link(client, {"down": bandwidth, "up": bandwidth})


@given(parsers.re(rf"the client's link is {_BANDWIDTH} with (?P<latency>\d+(?:\.\d+)? ?[a-z]+) latency$"))
def client_link_with_latency(agent: AgentDriver, client: str, bandwidth: str, latency: str) -> None:
    """The same, and every request the client makes waits one round trip of that latency (model time)."""
    agent.set_link(client, {"down": bandwidth, "up": bandwidth, "latency": latency})
