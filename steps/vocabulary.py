"""The words scenarios use, in one place: what each placeholder of a step may say and what it stands for.

Steps turn words into things through these tables (an unknown word is an error that lists the known ones), and
failure messages name things back in the same words: "the cloud distribution point (contosocdp.cloudapp…)".
steps/catalogue.py lists every table in features/STEPS.md, so the catalogue and the steps cannot disagree.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

from harness.environments.base import Endpoints
from harness.model.client_logs import CLIENT_LOGS as LOG_COMPONENTS
from harness.model.cmg_capacity import VmSize
from harness.model.deployment import DeploymentOption, LaunchMode
from harness.model.versions import BUILD_NUMBERS

T = TypeVar("T")


@dataclass(frozen=True)
class Words(Generic[T]):
    """The words one placeholder accepts, each with what it stands for."""

    what: str  # "content source": how an error message names the placeholder
    meanings: Mapping[str, T]

    def __call__(self, words: str) -> T:
        if words not in self.meanings:
            raise ValueError(f"unknown {self.what} {words!r}; use one of: {', '.join(self.meanings)}")
        return self.meanings[words]

    def __iter__(self) -> Iterator[str]:
        return iter(self.meanings)


# Where the administrator distributes content -> the site's names for those places.
TARGETS = Words[tuple[str, ...]]("distribution target", {
    "the CMG": ("cmg",),
    "the on-premises distribution point": ("dp",),
    "the on-premises distribution point only": ("dp",),
    "the cloud distribution point": ("clouddp",),
    "the branch distribution point": ("dp2",),
    "the CMG and the on-premises distribution point": ("cmg", "dp"),
    "the CMG and the branch distribution point": ("cmg", "dp2"),
    "the CMG and the cloud distribution point": ("cmg", "clouddp"),
})

# Where a client downloads from -> the environment's service whose host name the client's timeline records.
SOURCES = Words[str]("content source", {
    "the CMG": "cmg",
    "the cloud distribution point": "clouddp",
    "the on-premises distribution point": "mp",
    "the branch distribution point": "branch_dp",
    "the peer cache source": "peer",
})

# The cloud sources, each served by a content service of its own (the fixture of its driver).
CLOUD_SOURCES = Words[str]("cloud content source", {"the CMG": "cmg", "the cloud distribution point": "clouddp"})

# A service on the network -> its proxy in the network process (faults and links act there).
SERVICES = Words[str]("service", {
    "the CMG": "cmg",
    "the cloud distribution point": "clouddp",
    "the management point": "site",
    "Azure storage": "storage",
})

LAUNCHES = Words[LaunchMode]("launch", {mode.label: mode for mode in LaunchMode})
OPTIONS = Words[DeploymentOption]("deployment option", {option.value: option for option in DeploymentOption})

# Console wording of a Cloud Services client setting -> the agent's settings key.
CLIENT_SETTINGS = Words[str]("client setting", {
    "Allow access to cloud distribution point": "allow_cloud_dp",
    "Enable clients to use a cloud management gateway": "enable_cmg",
    "ClientAlwaysOnInternet": "always_on_internet",  # HKLM\SOFTWARE\Microsoft\CCM\Security, or CCMALWAYSINF=1
})

VERSIONS = tuple(str(release) for release in BUILD_NUMBERS)

CLIENT_LOGS = tuple(LOG_COMPONENTS)


def source_host(endpoints: Endpoints, source: str) -> str:
    """The host name the client's timeline records for a content source named in a scenario."""
    return endpoints[SOURCES(source)].hostname


def named(endpoints: Endpoints, host: str) -> str:
    """A host as a failure message names it: in the scenario's words first, then the host itself."""
    for words, service in SOURCES.meanings.items():
        if service in endpoints.services and endpoints[service].hostname == host:
            return f"{words} ({host})"
    return host


def named_all(endpoints: Endpoints, hosts: Iterable[str]) -> str:
    """Hosts named as `named` does, in their order (a set's in sorted order), or "nowhere"."""
    names = [named(endpoints, host) for host in (sorted(hosts) if isinstance(hosts, set) else hosts)]
    return ", ".join(names) if names else "nowhere"


@dataclass(frozen=True)
class Placeholder:
    """What a `{name}` in a step stands for, and the words it accepts when they are a fixed list."""

    meaning: str
    values: tuple[str, ...] = ()


_DURATION = "a model duration: a number and ms, seconds, minutes, hours or days (`15 s`, `10 minutes`, `1.5 hours`)"
_SIZE = "a model size: a number and B, KB, MB, GB or TB (`600 MB`, `3.2 GB`)"
_PACKAGE = "a package ID from the scenario's package table (`PS100151`)"
_SOURCE = Placeholder("where a client downloads from", tuple(SOURCES))
_WHOLE = "a whole number"

PLACEHOLDERS: dict[str, Placeholder] = {
    "ad_site": Placeholder("an Active Directory site name, as the boundary groups table writes it"),
    "attempts": Placeholder(_WHOLE),
    "availability": Placeholder('"Make available to the following", as the console words it',
                                ("Only Configuration Manager clients", "Configuration Manager clients, media and PXE",
                                 "Only media and PXE", "Only media and PXE (hidden)")),
    "bandwidth": Placeholder("a bandwidth: a number and bit/s, kbit/s, Mbit/s, Gbit/s (or kbps, Mbps, Gbps), B/s, "
                             "kB/s, MB/s or GB/s (`20 Mbit/s`)"),
    "boot_image": Placeholder("a boot image's package ID (`PS100005`)"),
    "code": Placeholder("a 32-bit error code in hexadecimal, `0x` and 8 digits (`0x80072EFE`); see the codes in "
                        "docs/error-codes.md"),
    "count": Placeholder(_WHOLE),
    "delay": Placeholder(_DURATION),
    "duration": Placeholder(_DURATION),
    "first": _SOURCE,
    "first_name": Placeholder("a computer name ending in a number (`WAVE01`); the clients are numbered on from it"),
    "folder": Placeholder("a folder on the client's C: drive (`C:\\_SMSTaskSequence\\Packages\\PS100151`)"),
    "group": Placeholder("a group's name, as the groups table writes it"),
    "high": Placeholder(_DURATION),
    "last_name": Placeholder("the last computer name of the numbered clients (`WAVE20`)"),
    "latency": Placeholder(_DURATION),
    "launch": Placeholder("how the task sequence is started", tuple(LAUNCHES)),
    "log": Placeholder("a client log file", CLIENT_LOGS),
    "low": Placeholder(_DURATION),
    "name": Placeholder("a computer name: capital letters, digits and `-` (`CLIENT31`)"),
    "option": Placeholder("a Distribution Points option, as the console words it", tuple(OPTIONS)),
    "package": Placeholder(_PACKAGE),
    "package_id": Placeholder(_PACKAGE),
    "percent": Placeholder(_WHOLE),
    "reason": Placeholder("words of the refusal (any part of it); the texts are listed below"),
    "second": _SOURCE,
    "seconds": Placeholder(_WHOLE),
    "seed": Placeholder(_WHOLE),
    "service": Placeholder("a service on the network", tuple(SERVICES)),
    "setting": Placeholder("a Cloud Services client setting, as the console words it", tuple(CLIENT_SETTINGS)),
    "share": Placeholder(_WHOLE),
    "size": Placeholder(_SIZE),
    "source": _SOURCE,
    "status": Placeholder("an HTTP status code (`503`); the step's own words say which ones it takes"),
    "step": Placeholder("a step's name, as the step table writes it"),
    "target": Placeholder("where the administrator distributes content", tuple(TARGETS)),
    "text": Placeholder("words the log must contain (any part of a line)"),
    "times": Placeholder("`once`, or a whole number and `times` (`2 times`)"),
    "value": Placeholder("the variable's value, as text"),
    "variable": Placeholder("a task sequence variable's name (`SMSTSDownloadRetryCount`)"),
    "version": Placeholder("a Configuration Manager current branch version", VERSIONS),
    "vm_size": Placeholder("a CMG VM size, as the console words it", tuple(size.words for size in VmSize)),
    "vms": Placeholder("a whole number of CMG VM instances, 1 to 16"),
    "wave": Placeholder("how many clients a wave starts: a whole number, thousands may be written `2,000`"),
    "what": Placeholder("`at once`, or `about` and a model duration (`about 2 minutes`)"),
}
