"""Given steps about clients: where they are, their Cloud Services client settings, their network link, fleets of
them named or seeded (a client's random choices depend on its name, the deployment and the seed, B-20), and which
cloud source one tries first."""

from __future__ import annotations

from pytest_bdd import given, parsers

from harness.drivers.agent import AgentDriver
from harness.drivers.site import SiteDriver
from harness.environments.base import Endpoints
from steps.vocabulary import CLIENT_SETTINGS, CLOUD_SOURCES, source_host

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


@given(parsers.re(r"an (?P<network>internet|intranet) client (?P<name>[A-Z0-9-]+) whose random choices are seeded "
                  r"with (?P<seed>\d+)$"), target_fixture="client")
def client_with_seed(agent: AgentDriver, network: str, name: str, seed: str) -> str:
    """A PKI client whose random draws (which cloud source it tries first) repeat exactly from run to run.

    The draw depends on the client's name, the deployment and the seed: seed 3 has CLIENT31 try the CMG before the
    cloud DP for deployment PS120001 (a Then step that checks the order says so if that ever changes)."""
    agent.create_client(name, network=network, seed=int(seed))
    return name


@given(parsers.re(r"(?P<count>\d+) (?P<network>internet|intranet) clients"
                  r"(?: named (?P<first_name>[A-Z][A-Z-]*\d+) to (?P<last_name>[A-Z][A-Z-]*\d+))?"
                  r"(?: whose random choices are seeded with (?P<seed>\d+))?$"), target_fixture="clients")
def many_clients(agent: AgentDriver, count: str, network: str, first_name: str | None, last_name: str | None,
                 seed: str | None) -> list[str]:
    """PKI clients named CHOICE01, CHOICE02, … (or FIRST to LAST, numbered as written), each with seed 0 (or the
    one given).

    A client's draws depend on its name, the deployment and the seed, so named and seeded clients repeat their
    draws exactly from run to run."""
    names = client_names(int(count), first_name or "CHOICE01", last_name)
    for name in names:
        agent.create_client(name, network=network, seed=int(seed or 0))
    return names


def client_names(count: int, first: str, last: str | None) -> list[str]:
    """FIRST, its successors, up to LAST: WAVE01 to WAVE20 is WAVE01, WAVE02, …, WAVE20."""
    prefix, number = first.rstrip("0123456789"), first[len(first.rstrip("0123456789")):]
    names = [f"{prefix}{n:0{len(number)}d}" for n in range(int(number), int(number) + count)]
    if last is not None and names[-1] != last:
        raise ValueError(f"{count} clients from {first} end at {names[-1]}, not {last}")
    return names


@given(parsers.parse("the client tries {source} first"))
def client_tries_first(agent: AgentDriver, endpoints: Endpoints, client: str, source: str) -> None:
    """In every content request the client tries that cloud source before the other one, instead of drawing the
    order; the management point's ranking of other sources stays as it is. A scenario's control, not a product
    setting: it saves hunting for a seed, whose draw would change with the client's name or the deployment."""
    CLOUD_SOURCES(source)  # only a cloud source is drawn: anything else is a mistake in the scenario
    agent.set_first_source(client, source_host(endpoints, source))
