"""EventBridge for the local run and the tests: the template's buses, rules with their targets, and
queue policies, created in moto (whose PutEvents matches each rule's pattern and delivers to SQS targets).
Scheduled rules are not created here: ``local.schedule`` fires the scheduled functions itself."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from local.cfn import ACCOUNT, REGION, Service, Template

Clients = Callable[[Service], Any]  # service name → boto3 client


def event_names(template: Template, prefix: str) -> dict[str, str]:
    """Physical names and ARNs of the template's buses and rules (``<prefix>-<LogicalId>``)."""
    names: dict[str, str] = {}
    for logical in template.resources("AWS::Events::EventBus"):
        names[logical] = names[f"{logical}.Name"] = f"{prefix}-{logical}"
        names[f"{logical}.Arn"] = f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/{names[logical]}"
    for logical, res in template.resources("AWS::Events::Rule").items():
        rule = f"{prefix}-{logical}"
        bus = template.resolve(res["Properties"].get("EventBusName", "default"), names)
        names[logical] = rule if bus == "default" else f"{bus}|{rule}"
        names[f"{logical}.Arn"] = f"arn:aws:events:{REGION}:{ACCOUNT}:rule/" + (rule if bus == "default" else f"{bus}/{rule}")
    for function, res in template.resources("AWS::Serverless::Function").items():
        # SAM makes a rule per Schedule event, named <Function><Event>; queue policies may name its ARN
        for event, spec in (res["Properties"].get("Events") or {}).items():
            if spec.get("Type") in ("Schedule", "ScheduleV2"):
                rule = f"{prefix}-{function}{event}"
                names[f"{function}{event}"] = rule
                names[f"{function}{event}.Arn"] = f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{rule}"
    for logical in template.resources("AWS::SQS::QueuePolicy"):
        names[logical] = logical
    return names


def deliver_whole_events() -> None:
    """moto 5.2.5 delivers an event to its targets without ``account`` (its default input template
    leaves it out); EventBridge delivers the whole event. Put it back (moto runs in this process)."""
    from moto.events.utils import EventTemplateParser

    template = EventTemplateParser.DEFAULT_EVENT_INPUT_TEMPLATE
    if '"account"' not in template:
        EventTemplateParser.DEFAULT_EVENT_INPUT_TEMPLATE = template.replace('"version": "0",', '"version": "0", "account": "<account>",')


def create_event_resources(template: Template, names: dict[str, str], clients: Clients) -> None:
    """Create the buses, the pattern rules and their targets, and apply the queue policies (idempotent);
    ``names`` resolves every reference (queues: ``Ref`` → URL, ``.Arn``)."""
    deliver_whole_events()
    events = clients("events")
    for logical in template.resources("AWS::Events::EventBus"):
        _create_bus(events, names[logical])
    for logical, res in template.resources("AWS::Events::Rule").items():
        props = template.resolve(res["Properties"], names)
        if "EventPattern" in props:
            _put_pattern_rule(events, names[logical].rsplit("|", 1)[-1], props)
    sqs = clients("sqs")
    for res in template.resources("AWS::SQS::QueuePolicy").values():
        props = template.resolve(res["Properties"], names)
        for url in props["Queues"]:
            sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(props["PolicyDocument"])})


def _create_bus(events: Any, name: str) -> None:
    try:
        events.create_event_bus(Name=name)
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ResourceAlreadyExistsException":
            raise


TARGET_FIELDS = ("Id", "Arn", "Input", "InputPath", "InputTransformer")  # what PutTargets takes of a rule's target


def _put_pattern_rule(events: Any, rule: str, props: dict[str, Any]) -> None:
    """A rule with an event pattern (its properties resolved) and its targets."""
    bus = props.get("EventBusName", "default")
    events.put_rule(
        Name=rule,
        EventBusName=bus,
        EventPattern=json.dumps(props["EventPattern"]),
        State=props.get("State", "ENABLED"),
        Description=props.get("Description", ""),
    )
    targets = [{k: v for k, v in t.items() if k in TARGET_FIELDS} for t in props.get("Targets", [])]
    if targets:
        events.put_targets(Rule=rule, EventBusName=bus, Targets=targets)
