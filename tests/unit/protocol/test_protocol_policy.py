import pytest

from harness.protocol import policy as pol
from harness.protocol.errors import ProtocolError
from harness.protocol.policy import (
    PolicyAssignment,
    build_assignment_reply,
    build_request_assignments,
    parse_assignment_reply,
    parse_request_assignments,
)
from harness.protocol.ts_policy import (
    PolicyPackage,
    PolicyStep,
    TaskSequencePolicy,
    build_ts_policy,
    parse_ts_policy,
)

CLIENT = "GUID:2C8A1B5E-4F0D-4C3B-9E21-7A6D5F4E3C2B"
# The policy ID is the one TSPxe logs in https://www.anoopcnair.com/sccm-osd-task-sequence-ultimate-guide/.
ASSIGNMENT = PolicyAssignment(
    "LAB20000-PR100003-6F6BCC28",
    "1.00",
    "Machine",
    "NAL",
    pol.TASKSEQUENCE | pol.INTRANETONLY,
    "http://<mp>/SMS_MP/.sms_pol?LAB20000-PR100003-6F6BCC28.1_00",
)
# A reply with the extra parts a real MP adds, which the parser skips.
REAL_STYLE_REPLY = """\
<ReplyAssignments SchemaVersion="1.00" ReplyType="Full"><Identification><Machine><ClientID>GUID:2C8A1B5E</ClientID>
</Machine></Identification><PolicySource>SMS:PR1</PolicySource><Resource ResourceType="Machine"/>
<PolicyAssignment PolicyAssignmentID="{0E1F2A3B-4C5D-6E7F-8091-A2B3C4D5E6F7}"><Condition><Expression/></Condition>
<Policy PolicyID="LAB20000-PR100003-6F6BCC28" PolicyVersion="1.00" PolicyType="Machine" PolicyCategory="NAL"
 PolicyFlags="9"><PolicyLocation PolicyHash="SHA256:AB12">http://&lt;mp&gt;/SMS_MP/.sms_pol?LAB20000-PR100003-6F6BCC28.1_00</PolicyLocation></Policy>
</PolicyAssignment><ServerCookie>2024-05-01 10:00:00.000</ServerCookie></ReplyAssignments>"""
TS = TaskSequencePolicy(
    advertisement_id="PS120001",
    package_id="PS100010",
    name="Windows 11 23H2 in-place upgrade",
    offer_type=2,
    advert_flags=0x02000000,
    remote_client_flags=0x2000,
    steps=(
        PolicyStep("Check Readiness", "Check Readiness", duration_s=2.5),
        PolicyStep("Download OS", "Download Package Content", "PS100004", 0.0, continue_on_error=True),
        PolicyStep("Upgrade", "Upgrade Operating System", "PS100004", 1800.0),
        PolicyStep("Custom", "Something New", None, 1e-05),
    ),
    references=(
        PolicyPackage("PS100004", 2, "Windows 11 23H2", 4_500_000_000),
        PolicyPackage("PS100005", 1, "Drivers & <tools>", 1),
    ),
    variables=(("OSDSetupAdditionalUpgradeOptions", "/DynamicUpdate Disable"), ("EMPTY", "")),
)


def test_request_assignments_shape_and_round_trip() -> None:
    text = build_request_assignments(CLIENT, site_code="PR1")
    assert text.startswith(
        '<RequestAssignments SchemaVersion="1.00" ACK="false" RequestType="Always">'
        f"<Identification><Machine><ClientID>{CLIENT}</ClientID>"
    )
    assert text.endswith(
        '<PolicySource>SMS:PR1</PolicySource><Resource ResourceType="Machine" /><ServerCookie />'
        "</RequestAssignments>"
    )
    assert parse_request_assignments(text) == CLIENT


def test_bare_guid_gets_the_prefix() -> None:
    assert parse_request_assignments(build_request_assignments(CLIENT.removeprefix("GUID:"))) == CLIENT


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("<RequestAssignments/>", r"^RequestAssignments: missing <ClientID>$"),
        (
            "<RequestAssignments><Identification><Machine><ClientID> </ClientID></Machine></Identification>"
            "</RequestAssignments>",
            r"^RequestAssignments: <ClientID> is empty$",
        ),
        ("<ReplyAssignments/>", r"^RequestAssignments: root element is <ReplyAssignments>"),
    ],
)
def test_request_assignments_errors(text: str, message: str) -> None:
    with pytest.raises(ProtocolError, match=message):
        parse_request_assignments(text)


def test_assignment_reply_round_trip() -> None:
    other = PolicyAssignment(
        "PS120002-PS100011-6F6BCC28",
        "2.00",
        "Machine",
        "NAL",
        pol.TASKSEQUENCE,
        "http://<mp>/SMS_MP/.sms_pol?PS120002-PS100011-6F6BCC28.2_00",
    )
    text = build_assignment_reply([ASSIGNMENT, other])
    assert (
        '<Policy PolicyID="LAB20000-PR100003-6F6BCC28" PolicyVersion="1.00" PolicyType="Machine" '
        'PolicyCategory="NAL" PolicyFlags="9"><PolicyLocation>http://&lt;mp&gt;/SMS_MP/'
    ) in text
    assert parse_assignment_reply(text) == (ASSIGNMENT, other)
    assert build_assignment_reply([ASSIGNMENT]) == build_assignment_reply([ASSIGNMENT])  # stable IDs


def test_real_style_reply_parses() -> None:
    assert parse_assignment_reply(REAL_STYLE_REPLY) == (ASSIGNMENT,)


def test_flag_values() -> None:
    assert [
        pol.TASKSEQUENCE,
        pol.REQUIRESAUTH,
        pol.SECRET,
        pol.INTRANETONLY,
        pol.PERSISTWHOLEPOLICY,
        pol.AUTHORIZEDDYNAMICDOWNLOAD,
        pol.COMPRESSED,
    ] == [1, 2, 4, 8, 16, 32, 64]


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('PolicyID="LAB20000-PR100003-6F6BCC28" ', "", r"missing <Policy PolicyID>$"),
        (
            'PolicyFlags="9"',
            'PolicyFlags="0x9"',
            r"<Policy PolicyFlags> of LAB20000-PR100003-6F6BCC28 is not an",
        ),
        ("<PolicyLocation PolicyHash", "<Location PolicyHash", r"not well-formed XML"),
    ],
)
def test_assignment_reply_errors(old: str, new: str, message: str) -> None:
    with pytest.raises(ProtocolError, match=f"^ReplyAssignments: {message}"):
        parse_assignment_reply(REAL_STYLE_REPLY.replace(old, new, 1))


def test_reply_without_location() -> None:
    with pytest.raises(ProtocolError, match=r"^ReplyAssignments: missing <PolicyLocation>$"):
        parse_assignment_reply('<ReplyAssignments><Policy PolicyID="X"/></ReplyAssignments>')


def test_ts_policy_round_trip() -> None:
    text = build_ts_policy(TS)
    assert '<instance class="CCM_TaskSequence">' in text
    assert '<property name="TS_Sequence" type="string"><value>&lt;sequence version="3.10"&gt;' in text
    assert "SMS_TaskSequence_DownloadPackageContentAction" in text
    assert parse_ts_policy(text) == TS


def test_ts_policy_without_references_or_variables() -> None:
    bare = TaskSequencePolicy("PS120001", "PS100010", "TS", 0, 0, 0, (), ())
    assert parse_ts_policy(build_ts_policy(bare)) == bare


def _broken(old: str, new: str) -> str:
    text = build_ts_policy(TS)
    assert old in text
    return text.replace(old, new, 1)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("<Policy/>", r'^task sequence policy: missing <instance class="CCM_TaskSequence">$'),
        (
            _broken('name="PKG_Name"', 'name="PKG_Title"'),
            r"^task sequence policy: missing property PKG_Name$",
        ),
        (
            _broken("<value>2</value>", "<value>two</value>"),
            r"^task sequence policy: ADV_OfferType is not an integer",
        ),
        (
            _broken('durationSeconds="2.5"', 'durationSeconds="nan"'),
            r"^TS_Sequence: step 'Check Readiness' durationSeconds is not a finite number",
        ),
        (
            _broken('durationSeconds="1800.0"', 'durationSeconds="1e999"'),
            r"^TS_Sequence: step 'Upgrade' durationSeconds is not a finite number",
        ),
        (
            _broken('continueOnError="true"', 'continueOnError="1"'),
            r"^TS_Sequence: step 'Download OS' continueOnError must be true or false, got '1'$",
        ),
        (_broken("&lt;/sequence&gt;", ""), r"^TS_Sequence: not well-formed XML"),
        (_broken("&lt;sequence ", "&lt;seq "), r"^TS_Sequence: not well-formed XML"),
        (
            _broken("&lt;sequence ", "&lt;seq ").replace("&lt;/sequence&gt;", "&lt;/seq&gt;"),
            r"^TS_Sequence: root element is <seq>, expected <sequence>$",
        ),
        (
            _broken("&lt;References&gt;", "&lt;Refs&gt;").replace("&lt;/References&gt;", "&lt;/Refs&gt;"),
            r"^TS_References: root element is <Refs>, expected <References>$",
        ),
        (
            _broken('Package="PS100004" Version="2"', 'Package="PS100004"'),
            r"^TS_References: missing <Reference Version>$",
        ),
        (_broken('Size="1"', 'Size="-1"'), r"^TS_References: Size of PS100005 must be at least 0"),
    ],
)
def test_ts_policy_errors(text: str, message: str) -> None:
    with pytest.raises(ProtocolError, match=message):
        parse_ts_policy(text)


def test_groups_conditions_and_step_options_round_trip() -> None:
    from harness.protocol.ts_policy import PolicyCondition, PolicyGroup

    on_failure = PolicyCondition("_SMSTSLastActionSucceeded", "false")
    steps = (
        PolicyGroup("Upgrade", (
            PolicyStep("Download drivers", "Download Package Content", options=(
                ("OSDDownloadDownloadPackages", "PS100012,PS100013"), ("OSDDownloadDestinationVariable", "Var"))),
            PolicyGroup("Nested", (PolicyStep("Upgrade", "Upgrade Operating System", "PS100011", 60.0),)),
        ), continue_on_error=True),
        PolicyGroup("Run Actions on Failure", (PolicyStep("Collect logs", "Run Command Line"),), condition=on_failure),
    )
    policy = TaskSequencePolicy("PS120001", "PS100010", "Upgrade", 2, 0, 0x300, steps, ())
    parsed = parse_ts_policy(build_ts_policy(policy))
    assert parsed.steps == steps
    first = parsed.steps[0]
    assert isinstance(first, PolicyGroup)
    download = first.children[0]
    assert isinstance(download, PolicyStep) and download.option("OSDDownloadDestinationVariable") == "Var"


def test_too_deep_groups_are_refused() -> None:
    from harness.protocol.ts_policy import PolicyGroup

    node: PolicyStep | PolicyGroup = PolicyStep("x", "Run Command Line")
    for depth in range(40):
        node = PolicyGroup(f"g{depth}", (node,))
    policy = TaskSequencePolicy("PS120001", "PS100010", "Upgrade", 2, 0, 0x300, (node,), ())
    with pytest.raises(ProtocolError, match="nested deeper"):
        parse_ts_policy(build_ts_policy(policy))
