"""AWS CloudTrail (integration ``aws``, data stream ``aws.cloudtrail``): console sign-ins and
assumed-role sessions.

A federated sign-in is an ``AssumeRoleWithSAML`` call to STS that returns temporary credentials
(an ``ASIA…`` access key), followed, for the console, by ``ConsoleLogin``
(docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-aws-console-sign-in-events.html).
Every later call made with those credentials names the key in ``userIdentity.accessKeyId`` and
the session's ``sessionContext.creationDate``
(docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-user-identity.html):
the key is the session. Credentials from AssumeRoleWithSAML last 15 min to the role's maximum
(1 to 12 h; 12 h here); CloudTrail records no logout and no idle expiry.
"""

from __future__ import annotations

from bench.scenarios.model import Act, Event, User, iso
from bench.scenarios.vendors import base

ACCOUNT_ID = "123456789012"
ROLE = "Engineer"
_CALLS = [
    ("DescribeInstances", "ec2.amazonaws.com"),
    ("ListBuckets", "s3.amazonaws.com"),
    ("GetObject", "s3.amazonaws.com"),
    ("DescribeLogGroups", "logs.amazonaws.com"),
    ("GetCallerIdentity", "sts.amazonaws.com"),
]


def account(user: User) -> str:
    return f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/{ROLE}/{user.email}"


def _doc(act: Act, action: str, provider: str, identity: dict[str, object]) -> Event:
    doc = base.ecs_base(act, "aws.cloudtrail", action)
    doc["event"]["provider"] = provider
    doc["event"]["type"] = ["info"]
    doc["cloud"] = {"account": {"id": ACCOUNT_ID}, "provider": "aws", "region": "eu-west-1"}
    doc["source"] = {"ip": act.ip, "address": act.ip}
    if act.device is not None:
        doc["user_agent"] = {"original": act.device.user_agent}
    doc["aws"] = {"cloudtrail": {"event_type": "AwsApiCall", "user_identity": identity}}
    doc["user"] = {"name": act.user.email}
    return doc


def render(act: Act) -> list[Event]:
    key = act.session or ""
    started = iso(float(act.extra.get("session_start", act.t)))
    if act.action == "login":
        saml = _doc(
            act,
            "AssumeRoleWithSAML",
            "sts.amazonaws.com",
            {"type": "SAMLUser", "principal_id": "SAML:" + act.user.email, "user_name": act.user.email},
        )
        saml["event"]["category"] = ["authentication"]
        saml["aws"]["cloudtrail"]["flattened"] = {
            "request_parameters": {
                "roleArn": f"arn:aws:iam::{ACCOUNT_ID}:role/{ROLE}",
                "principalArn": f"arn:aws:iam::{ACCOUNT_ID}:saml-provider/corp-idp",
                "durationSeconds": 43200,
            },
            "response_elements": {
                "credentials": {"accessKeyId": key, "expiration": iso(act.t + 43200)},
                "assumedRoleUser": {"arn": account(act.user)},
            },
        }
        console = _doc(
            act,
            "ConsoleLogin",
            "signin.amazonaws.com",
            {
                "type": "AssumedRole",
                "arn": account(act.user),
                "principal_id": "AROAEXAMPLE:" + act.user.email,
            },
        )
        console["@timestamp"] = iso(act.t + 1)
        console["event"]["id"] = act.eid + "-console"
        console["event"]["category"] = ["authentication"]
        console["aws"]["cloudtrail"]["event_type"] = "AwsConsoleSignIn"
        console["aws"]["cloudtrail"]["console_login"] = {"additional_eventdata": {"mfa_used": True}}
        return [saml, console]
    call, provider = _CALLS[int(act.eid.rsplit("-", 1)[1]) % len(_CALLS)]
    doc = _doc(
        act,
        call,
        provider,
        {
            "type": "AssumedRole",
            "arn": account(act.user),
            "access_key_id": key,
            "session_context": {"creation_date": started, "mfa_authenticated": "true"},
        },
    )
    doc["event"]["category"] = ["cloud"] if provider != "sts.amazonaws.com" else ["authentication"]
    return [doc]


VENDOR = base.Vendor(
    name="aws_cloudtrail",
    dataset="aws.cloudtrail",
    caps=frozenset({base.SESSION}),
    render=render,
    account=account,
)
