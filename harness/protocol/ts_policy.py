"""The task sequence policy body a client fetches from ``/SMS_MP/.sms_pol?<PolicyID>.<version>_00`` once the
assignment reply (``policy.py``) names it.

The policy body's shape is [INFERENCE]: it resembles a ``CCM_TaskSequence`` WMI-XML policy instance whose
``TS_Sequence`` property holds the sequence XML, but carries the deployment's raw OfferType / AdvertFlags /
RemoteClientFlags instead of the real policy's broken-out ``ADV_RCF_*`` properties, and each step's run time (a
harness extension).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from xml.etree.ElementTree import Element

from harness.protocol.errors import ProtocolError, attr, child, expect_root, parse_xml, serialize, sub, text_of, to_int

POLICY = "task sequence policy"
SEQUENCE = "TS_Sequence"
REFERENCES = "TS_References"
_DECIMAL = re.compile(r"[0-9]+(\.[0-9]*)?([eE][+-]?[0-9]+)?")


@dataclass(frozen=True)
class PolicyCondition:
    """A task sequence variable condition (SMS_TaskSequence_VariableConditionExpression)."""

    variable: str
    value: str
    operator: str = "equals"


@dataclass(frozen=True)
class PolicyStep:
    name: str
    action: str  # e.g. "Download Package Content"
    package_id: str | None = None
    duration_s: float = 0.0  # model seconds the step runs (harness extension)
    continue_on_error: bool = False
    condition: PolicyCondition | None = None
    options: tuple[tuple[str, str], ...] = ()  # the step's own variables, e.g. OSDDownloadDownloadPackages
    exit_code: int = 0  # what the step's program returns once its content is there (harness extension)

    def option(self, name: str, default: str = "") -> str:
        return next((value for key, value in self.options if key == name), default)


@dataclass(frozen=True)
class PolicyGroup:
    name: str
    children: tuple[PolicyStep | PolicyGroup, ...]
    continue_on_error: bool = False
    condition: PolicyCondition | None = None


@dataclass(frozen=True)
class PolicyPackage:
    package_id: str
    version: int
    name: str
    size: int  # model bytes


@dataclass(frozen=True)
class TaskSequencePolicy:
    advertisement_id: str
    package_id: str
    name: str
    offer_type: int
    advert_flags: int
    remote_client_flags: int
    steps: tuple[PolicyStep | PolicyGroup, ...]  # top-level steps and groups, in order
    references: tuple[PolicyPackage, ...]
    variables: tuple[tuple[str, str], ...] = ()
    pre_download: bool = False  # "Pre-download content for this task sequence" (ADV_PreDownload [INFERENCE])
    boot_image_id: str = ""  # TS_BootImageID: the task sequence restarts into Windows PE


# Step action as the console names it -> the step's class in the sequence XML. An action not listed
# is written as its own type.
STEP_TYPES = {
    "Check Readiness": "SMS_TaskSequence_CheckReadinessAction",
    "Download Package Content": "SMS_TaskSequence_DownloadPackageContentAction",
    "Upgrade Operating System": "SMS_TaskSequence_UpgradeOperatingSystemAction",
    "Run Command Line": "SMS_TaskSequence_RunCommandLineAction",
    "Install Application": "SMS_TaskSequence_InstallApplicationAction",
    "Restart Computer": "SMS_TaskSequence_RebootAction",
    "Set Task Sequence Variable": "SMS_TaskSequence_SetVariableAction",
}
_STEP_ACTIONS = {step_type: action for action, step_type in STEP_TYPES.items()}


def build_ts_policy(p: TaskSequencePolicy) -> str:
    root = Element("Policy", PolicyType="Machine")
    action = sub(sub(root, "PolicyRule"), "PolicyAction", PolicyActionType="WMI-XML")
    instance = sub(action, "instance", **{"class": "CCM_TaskSequence"})
    for name, kind, value in (
        ("ADV_AdvertisementID", "string", p.advertisement_id),
        ("ADV_OfferType", "uint32", str(p.offer_type)),
        ("ADV_AdvertFlags", "uint32", str(p.advert_flags)),
        ("ADV_RemoteClientFlags", "uint32", str(p.remote_client_flags)),
        ("ADV_PreDownload", "uint32", str(int(p.pre_download))),
        ("TS_BootImageID", "string", p.boot_image_id),
        ("PKG_PackageID", "string", p.package_id),
        ("PKG_Name", "string", p.name),
        (SEQUENCE, "string", _sequence(p)),
        (REFERENCES, "string", _references(p.references)),
    ):
        sub(sub(instance, "property", name=name, type=kind), "value", value)
    return serialize(root)


def _sequence(p: TaskSequencePolicy) -> str:
    sequence = Element("sequence", version="3.10")
    if p.variables:
        variables = sub(sequence, "globalVarList")
        for name, value in p.variables:
            sub(variables, "variable", value, name=name, property=name)
    for node in p.steps:
        sequence.append(_node_element(node))
    return serialize(sequence)


def _node_element(node: PolicyStep | PolicyGroup) -> Element:
    if isinstance(node, PolicyStep):
        return _step_element(node)
    element = Element("group", name=node.name, continueOnError=str(node.continue_on_error).lower())
    _condition_element(element, node.condition)
    for child_node in node.children:
        element.append(_node_element(child_node))
    return element


def _condition_element(parent: Element, condition: PolicyCondition | None) -> None:
    if condition is None:
        return
    expression = sub(sub(parent, "condition"), "expression", type="SMS_TaskSequence_VariableConditionExpression")
    for name, value in (("Operator", condition.operator), ("Value", condition.value),
                        ("Variable", condition.variable)):
        sub(expression, "variable", value, name=name)


def _step_element(step: PolicyStep) -> Element:
    # [INFERENCE] durationSeconds is the harness's own attribute; real steps carry the command to run instead.
    element = Element("step", type=STEP_TYPES.get(step.action, step.action), name=step.name,
                      continueOnError=str(step.continue_on_error).lower(),
                      durationSeconds=repr(step.duration_s))
    if step.exit_code:
        element.set("exitCode", str(step.exit_code))
    _condition_element(element, step.condition)
    if step.package_id is not None or step.options:
        variables = sub(element, "defaultVarList")
        if step.package_id is not None:
            sub(variables, "variable", step.package_id, name="PackageID", property="PackageID")
        for name, value in step.options:
            sub(variables, "variable", value, name=name, property=name)
    return element


def _references(packages: tuple[PolicyPackage, ...]) -> str:
    # [INFERENCE] the real TS_References format was not found; Name and Size serve the emulated client.
    references = Element("References")
    for package in packages:
        sub(references, "Reference", Package=package.package_id, Version=str(package.version),
            Name=package.name, Size=str(package.size))
    return serialize(references)


def parse_ts_policy(xml: str) -> TaskSequencePolicy:
    root = parse_xml(xml, POLICY)
    instance = next((e for e in root.iter("instance") if _is_ts_instance(e)), None)
    if instance is None:
        raise ProtocolError(f"{POLICY}: missing <instance class=\"CCM_TaskSequence\">")
    props = {attr(prop, "name", POLICY): text_of(child(prop, "value", POLICY))
             for prop in instance.findall("property")}
    sequence = parse_xml(_prop(props, SEQUENCE), SEQUENCE)
    expect_root(sequence, "sequence", SEQUENCE)
    return TaskSequencePolicy(
        advertisement_id=_prop(props, "ADV_AdvertisementID"),
        package_id=_prop(props, "PKG_PackageID"),
        name=_prop(props, "PKG_Name"),
        offer_type=to_int(_prop(props, "ADV_OfferType"), POLICY, "ADV_OfferType"),
        advert_flags=to_int(_prop(props, "ADV_AdvertFlags"), POLICY, "ADV_AdvertFlags"),
        remote_client_flags=to_int(_prop(props, "ADV_RemoteClientFlags"), POLICY, "ADV_RemoteClientFlags"),
        steps=_children(sequence, depth=0),
        references=_parse_references(props.get(REFERENCES)),
        variables=tuple((attr(v, "name", SEQUENCE), text_of(v))
                        for v in sequence.findall("globalVarList/variable")),
        pre_download=to_int(props.get("ADV_PreDownload", "0"), POLICY, "ADV_PreDownload") == 1,
        boot_image_id=props.get("TS_BootImageID", ""),
    )


def _is_ts_instance(element: Element) -> bool:
    return element.tag == "instance" and element.get("class") == "CCM_TaskSequence"


def _prop(props: dict[str, str], name: str) -> str:
    if name not in props:
        raise ProtocolError(f"{POLICY}: missing property {name}")
    return props[name]


MAX_GROUP_DEPTH = 32  # the console nests far less; the cap keeps hostile XML from recursing deep


def _children(parent: Element, depth: int) -> tuple[PolicyStep | PolicyGroup, ...]:
    if depth > MAX_GROUP_DEPTH:
        raise ProtocolError(f"{SEQUENCE}: groups nested deeper than {MAX_GROUP_DEPTH}")
    nodes: list[PolicyStep | PolicyGroup] = []
    for element in parent:
        if element.tag == "step":
            nodes.append(_step(element))
        elif element.tag == "group":
            nodes.append(_group(element, depth + 1))
    return tuple(nodes)


def _group(element: Element, depth: int) -> PolicyGroup:
    name = attr(element, "name", SEQUENCE)
    return PolicyGroup(name=name, children=_children(element, depth),
                       continue_on_error=_true_false(element.get("continueOnError", "false"), name),
                       condition=_condition(element, name))


def _condition(element: Element, name: str) -> PolicyCondition | None:
    expression = element.find("condition/expression")
    if expression is None:
        return None
    values = {v.get("name"): text_of(v) for v in expression.findall("variable")}
    if not values.get("Variable"):
        raise ProtocolError(f"{SEQUENCE}: condition of {name!r} names no variable")
    return PolicyCondition(variable=values["Variable"], value=values.get("Value", ""),
                           operator=values.get("Operator", "equals"))


def _step(element: Element) -> PolicyStep:
    name = attr(element, "name", SEQUENCE)
    step_type = attr(element, "type", SEQUENCE)
    variables = [(v.get("property") or v.get("name") or "", text_of(v))
                 for v in element.findall("defaultVarList/variable")]
    package = next((value for key, value in variables if key == "PackageID"), None)
    return PolicyStep(
        name=name,
        action=_STEP_ACTIONS.get(step_type, step_type),
        package_id=package,
        duration_s=_duration(element.get("durationSeconds", "0"), name),
        continue_on_error=_true_false(element.get("continueOnError", "false"), name),
        condition=_condition(element, name),
        options=tuple((key, value) for key, value in variables if key and key != "PackageID"),
        exit_code=to_int(element.get("exitCode", "0"), SEQUENCE, f"exitCode of step {name!r}"),
    )


def _duration(text: str, step: str) -> float:
    value = float(text) if _DECIMAL.fullmatch(text) else math.nan
    if not math.isfinite(value):
        raise ProtocolError(f"{SEQUENCE}: step {step!r} durationSeconds is not a finite number ≥ 0: {text!r}")
    return value


def _true_false(text: str, step: str) -> bool:
    if text not in ("true", "false"):
        raise ProtocolError(f"{SEQUENCE}: step {step!r} continueOnError must be true or false, got {text!r}")
    return text == "true"


def _parse_references(text: str | None) -> tuple[PolicyPackage, ...]:
    if text is None or not text.strip():
        return ()
    root = parse_xml(text, REFERENCES)
    expect_root(root, "References", REFERENCES)
    return tuple(_reference(element) for element in root.findall("Reference"))


def _reference(element: Element) -> PolicyPackage:
    package_id = attr(element, "Package", REFERENCES)
    return PolicyPackage(
        package_id=package_id,
        version=to_int(attr(element, "Version", REFERENCES), REFERENCES, f"Version of {package_id}"),
        name=element.get("Name", ""),
        size=to_int(element.get("Size", "0"), REFERENCES, f"Size of {package_id}", minimum=0),
    )


__all__ = [
    "PolicyCondition",
    "PolicyGroup",
    "PolicyPackage",
    "PolicyStep",
    "TaskSequencePolicy",
    "build_ts_policy",
    "parse_ts_policy",
]
