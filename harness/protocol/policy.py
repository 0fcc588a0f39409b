"""Machine policy assignments: the request a client sends ``MP_PolicyManager`` and the reply naming the policies
it then fetches (the task sequence policy body itself is in ``ts_policy.py``).

The request and reply follow SCCMSecrets (github.com/synacktiv/SCCMSecrets).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from xml.etree.ElementTree import Element

from harness.protocol.errors import ProtocolError, attr, child_text, expect_root, parse_xml, serialize, sub, to_int

TASKSEQUENCE = 1
REQUIRESAUTH = 2
SECRET = 4
INTRANETONLY = 8
PERSISTWHOLEPOLICY = 16
AUTHORIZEDDYNAMICDOWNLOAD = 32
COMPRESSED = 64

REQUEST = "RequestAssignments"
REPLY = "ReplyAssignments"
# [INFERENCE] a stable namespace so one policy always gets the same assignment ID.
_ASSIGNMENT_NAMESPACE = uuid.UUID("6f6bcc28-1c5e-4a43-9d55-3c0bbf0e2a71")


def build_request_assignments(client_id: str, resource_type: str = "Machine", *,
                              site_code: str = "PS1") -> str:
    """``client_id`` is the SMSID, ``GUID:<guid>``; a bare GUID gets the prefix."""
    root = Element(REQUEST, SchemaVersion="1.00", ACK="false", RequestType="Always")
    identification = sub(root, "Identification")
    machine = sub(identification, "Machine")
    sub(machine, "ClientID", client_id if client_id.startswith("GUID:") else f"GUID:{client_id}")
    sub(machine, "SID")
    sub(identification, "User")
    sub(root, "PolicySource", f"SMS:{site_code}")
    sub(root, "Resource", ResourceType=resource_type)
    sub(root, "ServerCookie")
    return serialize(root)


def parse_request_assignments(xml: str) -> str:
    """The client's SMSID as sent (``GUID:<guid>``)."""
    root = parse_xml(xml, REQUEST)
    expect_root(root, REQUEST)
    client_id = child_text(root, "Identification/Machine/ClientID", REQUEST)
    if not client_id.strip():
        raise ProtocolError(f"{REQUEST}: <ClientID> is empty")
    return client_id


@dataclass(frozen=True)
class PolicyAssignment:
    policy_id: str
    version: str  # e.g. "1.00"
    policy_type: str  # e.g. "Machine"
    category: str  # e.g. "NAL"
    flags: int  # TASKSEQUENCE | INTRANETONLY | …
    location: str  # http://<mp>/SMS_MP/.sms_pol?<id>.<version>_00; the client replaces <mp>


def build_assignment_reply(assignments: Iterable[PolicyAssignment]) -> str:
    # [INFERENCE] root attributes and PolicyAssignmentID format; SCCMSecrets reads only the <Policy> elements.
    root = Element(REPLY, SchemaVersion="1.00", ReplyType="Full")
    for assignment in assignments:
        assignment_id = uuid.uuid5(_ASSIGNMENT_NAMESPACE, assignment.policy_id)
        wrapper = sub(root, "PolicyAssignment", PolicyAssignmentID=f"{{{str(assignment_id).upper()}}}")
        policy = sub(wrapper, "Policy", PolicyID=assignment.policy_id, PolicyVersion=assignment.version,
                     PolicyType=assignment.policy_type, PolicyCategory=assignment.category,
                     PolicyFlags=str(assignment.flags))
        sub(policy, "PolicyLocation", assignment.location)
    return serialize(root)


def parse_assignment_reply(xml: str) -> tuple[PolicyAssignment, ...]:
    root = parse_xml(xml, REPLY)
    expect_root(root, REPLY)
    return tuple(_assignment(policy) for policy in root.iter("Policy"))


def _assignment(policy: Element) -> PolicyAssignment:
    # Only the ID and location are needed to fetch a policy; SCCMSecrets finds the rest missing at times.
    policy_id = attr(policy, "PolicyID", REPLY)
    return PolicyAssignment(
        policy_id=policy_id,
        version=policy.get("PolicyVersion", ""),
        policy_type=policy.get("PolicyType", ""),
        category=policy.get("PolicyCategory", ""),
        flags=to_int(policy.get("PolicyFlags", "0"), REPLY, f"<Policy PolicyFlags> of {policy_id}",
                     minimum=0),
        location=child_text(policy, "PolicyLocation", REPLY),
    )


__all__ = [
    "AUTHORIZEDDYNAMICDOWNLOAD",
    "COMPRESSED",
    "INTRANETONLY",
    "PERSISTWHOLEPOLICY",
    "REQUIRESAUTH",
    "SECRET",
    "TASKSEQUENCE",
    "PolicyAssignment",
    "build_assignment_reply",
    "build_request_assignments",
    "parse_assignment_reply",
    "parse_request_assignments",
]
