"""Each function runs under its own IAM policy locally, as strict as AWS is.

moto accepts every call, so a function missing a permission works locally and fails in AWS. This
module closes that gap:

* ``function_policies`` translates template.yaml with the SAM translator (``samtranslator``, the
  library ``sam deploy`` uses: policy templates such as ``DynamoDBCrudPolicy`` expand exactly as in
  AWS) and reads each function's generated ``AWS::IAM::Role`` policies, with ``Ref``/``GetAtt``/``Sub``
  resolved to the local physical names and ARNs;
* ``required`` says which IAM actions on which resource ARNs one AWS call needs (DynamoDB's
  ``TransactWriteItems`` needs ``PutItem``/``UpdateItem``/``DeleteItem``/``ConditionCheckItem`` on
  each item's table, a query on an index needs the index ARN, S3 object actions name
  ``bucket/key``...);
* ``install`` hooks every botocore client (``before-parameter-build`` / ``before-call``): a call made
  while a function is acting (``acting_as``, or ``enforce`` in a worker process) that its policy does
  not allow is answered ``AccessDenied`` without reaching the emulation, a botocore ``ClientError``
  raised to the function exactly as AWS would raise it, and it is logged as
  ``<Function> is not allowed <action> on <arn>``.

Explicit ``Deny`` wins over ``Allow``; actions and resources match with IAM wildcards (``*``, ``?``);
``Condition`` is not evaluated, so a statement carrying one is refused when policies are read.
moto's own IAM enforcement is not used: it is action-level only and knows ``TransactWriteItems`` as an
action of its own.
"""

from __future__ import annotations

import contextlib
import contextvars
import copy
import os
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import Any
from urllib.parse import urlsplit

from local.cfn import ACCOUNT, REGION, Template

PARTITION = "aws"


class PolicyError(ValueError):
    """The template's policies cannot be checked locally as written."""


# ---------------------------------------------------------------- policies


@dataclass(frozen=True)
class Statement:
    effect: str  # Allow | Deny
    actions: tuple[str, ...] = ()
    not_actions: tuple[str, ...] = ()
    resources: tuple[str, ...] = ()
    not_resources: tuple[str, ...] = ()

    @classmethod
    def parse(cls, data: dict[str, Any]) -> Statement:
        if "Condition" in data:
            raise PolicyError(f"the local IAM check does not evaluate Condition: {data}")
        if "Principal" in data or "NotPrincipal" in data:
            raise PolicyError(f"an identity policy names no Principal: {data}")

        def strings(key: str) -> tuple[str, ...]:
            value = data.get(key, ())
            values = (value,) if isinstance(value, str) else tuple(value)
            for v in values:
                if not isinstance(v, str):
                    raise PolicyError(f"{key} did not resolve to text: {v!r}")
            return values

        return cls(data["Effect"], strings("Action"), strings("NotAction"), strings("Resource"), strings("NotResource"))

    def matches(self, action: str, resource: str) -> bool:
        """Whether the statement covers ``action`` on ``resource``: an absent ``Action``/``Resource``
        (``NotAction``/``NotResource``) list does not restrict it."""
        return (
            _covered(self.actions, action, case=False, absent=True)
            and not _covered(self.not_actions, action, case=False, absent=False)
            and _covered(self.resources, resource, case=True, absent=True)
            and not _covered(self.not_resources, resource, case=True, absent=False)
        )


def _covered(patterns: tuple[str, ...], value: str, *, case: bool, absent: bool) -> bool:
    """Whether one of ``patterns`` matches ``value``; ``absent`` when there are no patterns."""
    if not patterns:
        return absent
    return any(_match(p, value, case=case) for p in patterns)


@cache
def _pattern(pattern: str, case: bool) -> re.Pattern[str]:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(regex, 0 if case else re.IGNORECASE)


def _match(pattern: str, value: str, *, case: bool = True) -> bool:
    """IAM wildcard match: ``*`` any run of characters (``/`` and ``:`` too), ``?`` one character."""
    return _pattern(pattern, case).fullmatch(value) is not None


@dataclass
class Policy:
    """One function's identity policy: every statement of its execution role."""

    function: str
    statements: list[Statement] = field(default_factory=list)

    def allows(self, action: str, resource: str) -> bool:
        matching = [s for s in self.statements if s.matches(action, resource)]
        return any(s.effect == "Allow" for s in matching) and not any(s.effect == "Deny" for s in matching)

    def without(self, action: str) -> Policy:
        """The same policy with ``action`` denied everywhere (to show what a missing permission does)."""
        return Policy(self.function, [*self.statements, Statement("Deny", actions=(action,), resources=("*",))])

    def to_json(self) -> list[dict[str, Any]]:
        keys = ("Action", "NotAction", "Resource", "NotResource")
        return [
            {"Effect": s.effect, **dict(zip(keys, map(list, (s.actions, s.not_actions, s.resources, s.not_resources)), strict=True))}
            for s in self.statements
        ]

    @classmethod
    def from_json(cls, function: str, data: list[dict[str, Any]]) -> Policy:
        return cls(function, [Statement(d["Effect"], *(tuple(d[k]) for k in ("Action", "NotAction", "Resource", "NotResource"))) for d in data])


def translate(template: Template) -> dict[str, Any]:
    """template.yaml as ``sam deploy`` hands it to CloudFormation (the SAM transform applied)."""
    import boto3
    from samtranslator.model.exceptions import InvalidDocumentException
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.translator import Translator

    data = copy.deepcopy(template.data)
    for resource in data.get("Resources", {}).values():
        props = resource.get("Properties") or {}
        for key in ("CodeUri", "ContentUri"):  # as after `sam package`: the translator wants S3 locations
            if isinstance(props.get(key), str):
                props[key] = "s3://local-artifacts/" + props[key].strip("/")
    translator = Translator({}, Parser(), boto_session=boto3.session.Session(region_name=REGION))
    parameters = {**template.parameters, "AWS::AccountId": ACCOUNT, "AWS::Partition": PARTITION}
    try:
        translated: dict[str, Any] = translator.translate(data, parameter_values=parameters, get_managed_policy_map=lambda: {})
    except InvalidDocumentException as exc:
        raise PolicyError(f"the SAM translator rejects template.yaml: {'; '.join(e.message for e in exc.causes)}") from exc
    return translated


class _Names(dict[str, str]):
    """Physical names; a logical id without a local counterpart resolves to a value no ARN matches."""

    def __missing__(self, key: str) -> str:
        return f"<unresolved {key}>"


def function_policies(template: Template, names: dict[str, str]) -> dict[str, Policy]:
    """Every function's policy, from its role in the translated template, resolved against ``names``
    (computed once per loaded template and set of names)."""
    cache: dict[tuple[tuple[str, str], ...], dict[str, Policy]] = template.__dict__.setdefault("_iam_policies", {})
    key = tuple(sorted(names.items()))
    if key not in cache:
        cache[key] = _function_policies(template, names)
    return cache[key]


def _function_policies(template: Template, names: dict[str, str]) -> dict[str, Policy]:
    translated = template.__dict__.get("_sam_translated")
    if translated is None:  # translated once per loaded template
        translated = template.__dict__["_sam_translated"] = translate(template)
    resolver = Template(translated, template.parameters)
    resources: dict[str, Any] = translated["Resources"]
    local_names = _Names(names)
    policies: dict[str, Policy] = {}
    for name in template.functions():
        statements: list[Statement] = []
        for document in _role_documents(resources, (resources[name].get("Properties") or {}).get("Role")):
            raw = resolver.resolve(document, local_names)["Statement"]
            statements += [Statement.parse(s) for s in ([raw] if isinstance(raw, dict) else raw)]
        policies[name] = Policy(name, statements)
    return policies


def _role_documents(resources: dict[str, Any], role: Any) -> list[Any]:
    """The policy documents of the role a function's ``Role: !GetAtt <Role>.Arn`` names: its inline
    policies and the ``AWS::IAM::Policy`` resources attached to it (none for a role given otherwise)."""
    role_id = role["Fn::GetAtt"][0] if isinstance(role, dict) and "Fn::GetAtt" in role else None
    if role_id is None:
        return []
    documents: list[Any] = [p["PolicyDocument"] for p in resources[role_id]["Properties"].get("Policies", [])]
    for res in resources.values():
        if res["Type"] == "AWS::IAM::Policy" and {"Ref": role_id} in res["Properties"].get("Roles", []):
            documents.append(res["Properties"]["PolicyDocument"])
    return documents


# ---------------------------------------------------------------- what a call needs


def _table_arn(table: str) -> str:
    return table if table.startswith("arn:") else f"arn:{PARTITION}:dynamodb:{REGION}:{ACCOUNT}:table/{table}"


_TRANSACT_WRITE = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem", "ConditionCheck": "ConditionCheckItem"}


def _dynamodb(operation: str, params: dict[str, Any]) -> list[tuple[str, str]]:
    if operation == "TransactWriteItems":
        items = params.get("TransactItems", [])
        return [(f"dynamodb:{_TRANSACT_WRITE[kind]}", _table_arn(body["TableName"])) for item in items for kind, body in item.items()]
    if operation == "TransactGetItems":
        return [("dynamodb:GetItem", _table_arn(item["Get"]["TableName"])) for item in params.get("TransactItems", [])]
    if operation in ("BatchGetItem", "BatchWriteItem"):
        return [(f"dynamodb:{operation}", _table_arn(table)) for table in params.get("RequestItems", {})]
    if "TableName" not in params:
        return [(f"dynamodb:{operation}", "*")]
    arn = _table_arn(params["TableName"])
    if params.get("IndexName"):
        arn += f"/index/{params['IndexName']}"
    return [(f"dynamodb:{operation}", arn)]


_S3_OBJECT = {"HeadObject": "GetObject", "CreateMultipartUpload": "PutObject", "UploadPart": "PutObject", "CompleteMultipartUpload": "PutObject"}
_S3_BUCKET = {"ListObjectsV2": "ListBucket", "ListObjects": "ListBucket", "HeadBucket": "ListBucket", "ListObjectVersions": "ListBucketVersions"}


def _s3(operation: str, params: dict[str, Any]) -> list[tuple[str, str]]:
    bucket = params.get("Bucket", "")
    bucket_arn = f"arn:{PARTITION}:s3:::{bucket}"
    if operation == "DeleteObjects":
        return [("s3:DeleteObject", f"{bucket_arn}/{o['Key']}") for o in params.get("Delete", {}).get("Objects", [])]
    if operation == "CopyObject":
        source = params.get("CopySource")
        source_path = f"{source['Bucket']}/{source['Key']}" if isinstance(source, dict) else str(source).lstrip("/").split("?")[0]
        return [("s3:PutObject", f"{bucket_arn}/{params['Key']}"), ("s3:GetObject", f"arn:{PARTITION}:s3:::{source_path}")]
    if "Key" in params:
        return [(f"s3:{_S3_OBJECT.get(operation, operation)}", f"{bucket_arn}/{params['Key']}")]
    if bucket:
        return [(f"s3:{_S3_BUCKET.get(operation, operation)}", bucket_arn)]
    return [(f"s3:{operation}", "*")]


def _queue_arn(url: str) -> str:
    account, name = urlsplit(url).path.strip("/").split("/")[-2:]
    return f"arn:{PARTITION}:sqs:{REGION}:{account}:{name}"


_SQS = {"SendMessageBatch": "SendMessage", "DeleteMessageBatch": "DeleteMessage", "ChangeMessageVisibilityBatch": "ChangeMessageVisibility"}


def _sqs(operation: str, params: dict[str, Any]) -> list[tuple[str, str]]:
    action = f"sqs:{_SQS.get(operation, operation)}"
    if "QueueUrl" in params:
        return [(action, _queue_arn(params["QueueUrl"]))]
    if "QueueName" in params:
        return [(action, f"arn:{PARTITION}:sqs:{REGION}:{params.get('QueueOwnerAWSAccountId', ACCOUNT)}:{params['QueueName']}")]
    return [(action, "*")]


def _secretsmanager(operation: str, params: dict[str, Any], secrets: dict[str, str]) -> list[tuple[str, str]]:
    secret = params.get("SecretId")
    if secret is None:
        return [(f"secretsmanager:{operation}", "*")]
    arn = secret if secret.startswith("arn:") else secrets.get(secret, f"arn:{PARTITION}:secretsmanager:{REGION}:{ACCOUNT}:secret:{secret}")
    return [(f"secretsmanager:{operation}", arn)]


def _events(operation: str, params: dict[str, Any]) -> list[tuple[str, str]]:
    def bus_arn(bus: str | None) -> str:
        bus = bus or "default"
        return bus if bus.startswith("arn:") else f"arn:{PARTITION}:events:{REGION}:{ACCOUNT}:event-bus/{bus}"

    if operation == "PutEvents":
        return [("events:PutEvents", bus_arn(e.get("EventBusName"))) for e in params.get("Entries", [])]
    return [(f"events:{operation}", bus_arn(params.get("EventBusName")) if "EventBusName" in params else "*")]


def required(service: str, operation: str, params: dict[str, Any], secrets: dict[str, str] | None = None) -> list[tuple[str, str]]:
    """The (IAM action, resource ARN) pairs AWS authorises for one call. ``service`` is the IAM
    service prefix (botocore's signing name); ``secrets`` maps secret names to their ARNs."""
    if service == "dynamodb":
        return _dynamodb(operation, params)
    if service == "s3":
        return _s3(operation, params)
    if service == "sqs":
        return _sqs(operation, params)
    if service == "secretsmanager":
        return _secretsmanager(operation, params, secrets or {})
    if service == "events":
        return _events(operation, params)
    return [(f"{service}:{operation}", "*")]


# ---------------------------------------------------------------- enforcement


@dataclass
class Denial:
    function: str
    action: str
    resource: str

    def __str__(self) -> str:
        return f"{self.function} is not allowed {self.action} on {self.resource}"


@dataclass
class _Acting:
    policy: Policy
    secrets: dict[str, str]


_current: contextvars.ContextVar[_Acting | None] = contextvars.ContextVar("local_iam_acting", default=None)
_process_default: _Acting | None = None
denials: list[Denial] = []  # every refusal in this process, newest last (tests read and clear it)
_installed = False


def _acting() -> _Acting | None:
    return _current.get() or _process_default


@contextlib.contextmanager
def acting_as(policy: Policy, secrets: dict[str, str] | None = None) -> Iterator[None]:
    """AWS calls made inside run under ``policy`` (in-process tests call one function at a time)."""
    install()
    token = _current.set(_Acting(policy, secrets or {}))
    try:
        yield
    finally:
        _current.reset(token)


def enforce(policy: Policy, secrets: dict[str, str] | None = None) -> None:
    """Every AWS call of this process runs under ``policy`` (a worker process runs one function)."""
    global _process_default
    install()
    _process_default = _Acting(policy, secrets or {})


def _report_only() -> bool:
    """``LOCAL_IAM=report`` logs what a policy refuses but lets the call through (to list, in one
    run, every permission a policy lacks); the default enforces."""
    return os.environ.get("LOCAL_IAM", "enforce") == "report"


def _check(params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
    acting = _acting()
    if acting is None:
        return
    service = model.service_model.signing_name or model.service_model.endpoint_prefix
    needed = required(service, model.name, params, acting.secrets)
    if os.environ.get("LOCAL_IAM_LOG"):  # every call's needs, one line each: what a least-privilege policy grants
        with open(os.environ["LOCAL_IAM_LOG"], "a") as log:
            log.writelines(f"{acting.policy.function} {action} {resource}\n" for action, resource in needed)
    for action, resource in needed:
        if not acting.policy.allows(action, resource):
            denial = Denial(acting.policy.function, action, resource)
            denials.append(denial)
            if _report_only():
                print(f"[local IAM] would refuse: {denial}", file=sys.stderr, flush=True)
                continue
            print(f"[local IAM] {denial}", file=sys.stderr, flush=True)
            context["local_iam_denial"] = denial
            return


_ERROR_CODES = {"s3": ("AccessDenied", 403), "sqs": ("AccessDenied", 403)}


def _refuse(model: Any, context: dict[str, Any], **_: Any) -> tuple[Any, dict[str, Any]] | None:
    denial: Denial | None = context.get("local_iam_denial")
    if denial is None:
        return None
    from botocore.awsrequest import AWSResponse, HTTPHeaders

    service = model.service_model.signing_name or model.service_model.endpoint_prefix
    code, status = _ERROR_CODES.get(service, ("AccessDeniedException", 400))
    message = (
        f"User: arn:{PARTITION}:sts::{ACCOUNT}:assumed-role/{denial.function}Role/{denial.function} is not authorized to perform: "
        f"{denial.action} on resource: {denial.resource} because no identity-based policy allows the {denial.action} action "
        f"(local IAM check: {denial})"
    )
    parsed = {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status, "HTTPHeaders": {}, "RetryAttempts": 0}}
    return AWSResponse("https://local-iam.invalid", status, HTTPHeaders(), None), parsed


def _register(client: Any) -> None:
    client.meta.events.register("before-parameter-build.*.*", _check, unique_id="local-iam-check")
    client.meta.events.register_first("before-call.*.*", _refuse, unique_id="local-iam-refuse")


def install() -> None:
    """Hook every botocore client created from now on (boto3's default session, a new session,
    Powertools' own clients alike). Idempotent; calls outside ``acting_as``/``enforce`` pass."""
    global _installed
    if _installed:
        return
    import botocore.session

    original = botocore.session.Session.create_client

    def create_client(self: Any, *args: Any, **kwargs: Any) -> Any:
        client = original(self, *args, **kwargs)
        _register(client)
        return client

    botocore.session.Session.create_client = create_client  # type: ignore[method-assign]
    _installed = True


def secret_arns(template: Template, names: dict[str, str]) -> dict[str, str]:
    """Secret name → ARN, so a call naming a secret by name is checked against its ARN, as AWS does."""
    found: dict[str, str] = {}
    for logical in template.resources("AWS::SecretsManager::Secret"):
        arn = names[logical]
        found[arn.rsplit(":", 1)[-1]] = arn
    return found
