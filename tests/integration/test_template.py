"""The template, production-ready: what `sam deploy` would create, read from the SAM translator's output.

tools/sam_translate.py runs the translator (aws-sam-translator, the library `sam deploy` uses) in the SAM
CLI's virtualenv, where it lives; these tests read its CloudFormation output as an operator would.
"""

from __future__ import annotations

import json
import re
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from livestream.media import prepare_thumbnail
from local.cfn import ROOT, Template
from local.routing import Router
from local.throttling import ACCOUNT_LIMIT, Throttle
from tests.bench import viral
from tools.deploy_assets import DEFAULT_THUMBNAIL, DEFAULT_THUMBNAIL_KEY

SAM_PYTHON = ROOT / ".venv-sam" / "bin" / "python"
LAYER = ROOT / "layers" / "common"


@cache
def _translate(text: str, parameters: tuple[str, ...]) -> dict[str, Any]:
    if not SAM_PYTHON.exists():
        pytest.fail("the SAM CLI's virtualenv is missing: `make sam-venv` creates it (`make test` does)")
    run = subprocess.run(
        [str(SAM_PYTHON), str(ROOT / "tools" / "sam_translate.py"), "--template", "/dev/stdin", *parameters],
        input=text, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(run.stdout)


def translated(text: str | None = None, **parameters: str) -> dict[str, Any]:
    source = text if text is not None else (ROOT / "template.yaml").read_text()
    return _translate(source, tuple(f"{k}={v}" for k, v in sorted(parameters.items())))


def resources(kind: str, template: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    template = template or translated()
    return {name: res for name, res in template["Resources"].items() if res["Type"] == kind}


def functions() -> dict[str, dict[str, Any]]:
    return resources("AWS::Lambda::Function")


def ref(value: Any) -> str | None:
    """The logical id a ``Ref`` or ``Fn::GetAtt`` names."""
    if isinstance(value, dict) and "Ref" in value:
        return value["Ref"]
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return value["Fn::GetAtt"][0]
    return None


def alias_of(function: str) -> str:
    (alias,) = [name for name, res in resources("AWS::Lambda::Alias").items() if ref(res["Properties"]["FunctionName"]) == function]
    return alias


# ------------------------------------------------------------------ API stage


def test_one_throttled_stage_with_json_access_logs():
    (stage,) = resources("AWS::ApiGateway::Stage").values()  # no implicit "Stage" stage beside it
    props = stage["Properties"]
    assert props["StageName"] == {"Ref": "Stage"} and props["TracingEnabled"] is True
    default, *overrides = props["MethodSettings"]  # the stage's default, then its per-method throttles, as written
    assert default["ResourcePath"] == "/*" and default["HttpMethod"] == "*"
    assert default["ThrottlingRateLimit"] > 0 and default["ThrottlingBurstLimit"] >= default["ThrottlingRateLimit"]
    (api,) = Template.load().resources("AWS::Serverless::Api").values()
    assert props["MethodSettings"] == api["Properties"]["MethodSettings"] and overrides  # SAM keeps every entry
    for entry in props["MethodSettings"]:  # an override is a whole setting: metrics stay on, both throttles set
        assert entry["MetricsEnabled"] is True and {"ThrottlingRateLimit", "ThrottlingBurstLimit"} <= set(entry), entry

    logs = props["AccessLogSetting"]
    group = translated()["Resources"][ref(logs["DestinationArn"])]
    assert group["Type"] == "AWS::Logs::LogGroup" and group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    # one JSON object per request, each variable a string: parse it with the variables filled in
    line = json.loads(re.sub(r"\$context\.[A-Za-z.]+", "x", logs["Format"]))
    wanted = {
        "$context.requestId",
        "$context.identity.sourceIp",
        "$context.resourcePath",
        "$context.status",
        "$context.responseLatency",
        "$context.integrationLatency",
    }
    assert wanted <= set(json.loads(logs["Format"]).values()) and len(line) == len(json.loads(logs["Format"]))
    # the group is the API's own, not a function's
    functions_groups = {ref(f["Properties"]["LoggingConfig"]["LogGroup"]) for f in functions().values()}
    assert ref(logs["DestinationArn"]) not in functions_groups

    # API Gateway can write logs: the account's CloudWatch role is set before the API
    (account,) = resources("AWS::ApiGateway::Account").values()
    role = translated()["Resources"][ref(account["Properties"]["CloudWatchRoleArn"])]
    assert any(arn.get("Fn::Sub", "").endswith("AmazonAPIGatewayPushToCloudWatchLogs") for arn in role["Properties"]["ManagedPolicyArns"])
    assert translated()["Resources"]["Api"]["DependsOn"] == "ApiGatewayAccount"


# what one viral stream sends a second, as `make bench-viral` models it (tests/bench/viral.py), and Agora's
# channel events for it: one per viewer joining (first joins and repeat joins) or leaving the channel
_VIRAL_JOINS = viral.JOINS_PER_SECOND + viral.REJOINS
_CELEBRITY_PATH = {
    **viral.REQUESTS_PER_METHOD,
    ("/webhooks/agora", "POST"): _VIRAL_JOINS + viral.LEAVES,
    ("/api/v1/live-stream/{id}/token", "POST"): 0,  # renewals: the audience over the token lifetime
    ("/api/v1/live-stream/{id}", "GET"): 0,  # the stream's page, opened from a shared link
}
HEADROOM = 1.4  # docs/operations.md, "Throttling": 40 % above the model (joins: up to what one stream's keys hold)


def test_the_celebrity_path_takes_a_viral_streams_load_with_headroom_within_the_account():
    """Each method of the celebrity path takes 1.4 times what the viral bench sends it, in its rate, and half a
    second of it at once, in its burst; together they stay within the account's 10,000 a second and 5,000 at
    once (shared by every API of the account), so a flood on them is refused by their own throttles first."""
    template = Template.load()
    limits = Throttle.from_template(template, Router.from_template(template).methods()).limits
    assert _VIRAL_JOINS >= 2_100 and viral.LEAVES >= 200  # the bench's defaults (its environment variables unset)
    for method, modelled in _CELEBRITY_PATH.items():
        assert limits[method].rate >= HEADROOM * modelled and limits[method].burst >= modelled / 2, (method, limits[method])
    assert sum(limits[m].rate for m in _CELEBRITY_PATH) <= ACCOUNT_LIMIT.rate
    assert sum(limits[m].burst for m in _CELEBRITY_PATH) <= ACCOUNT_LIMIT.burst
    assert all(limit.rate <= ACCOUNT_LIMIT.rate and limit.burst <= ACCOUNT_LIMIT.burst for limit in limits.values())
    # where a flood only costs money, tighter than the stage's default
    default = limits[("/docs", "GET")]
    for method in (("/api/v1/live-stream/create", "POST"), ("/internal/v1/users/{userId}", "PUT")):
        assert limits[method].rate < default.rate, method


def test_every_function_logs_to_its_own_group_with_retention():
    """What cfn-lint-serverless's WS1004 wants (suppressed: it only recognises groups named after the function)."""
    groups = resources("AWS::Logs::LogGroup")
    seen = set()
    for name, function in functions().items():
        group = ref(function["Properties"]["LoggingConfig"]["LogGroup"])
        assert group in groups and groups[group]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}, name
        seen.add(group)
    assert len(seen) == len(functions())


# ------------------------------------------------------------------ alarms


def test_every_alarm_notifies_the_alarm_topic():
    template = translated()
    (topic,) = resources("AWS::SNS::Topic")
    (subscription,) = resources("AWS::SNS::Subscription").values()
    assert subscription["Properties"] == {"TopicArn": {"Ref": topic}, "Protocol": "email", "Endpoint": {"Ref": "AlarmEmail"}}
    assert template["Conditions"][subscription["Condition"]] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmEmail"}, ""]}]}
    alarms = resources("AWS::CloudWatch::Alarm")
    assert alarms
    for name, alarm in alarms.items():
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": topic}], name
        assert alarm["Properties"]["OKActions"] == [{"Ref": topic}], name


def _metrics(alarm: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(namespace, metric name, dimensions) of everything the alarm watches."""
    props = alarm["Properties"]
    if "Metrics" in props:
        found = []
        for query in props["Metrics"]:
            if "MetricStat" in query:
                metric = query["MetricStat"]["Metric"]
                found.append((metric["Namespace"], metric["MetricName"], {d["Name"]: d["Value"] for d in metric["Dimensions"]}))
        return found
    return [(props["Namespace"], props["MetricName"], {d["Name"]: d["Value"] for d in props["Dimensions"]})]


def _watching(namespace: str, metric: str, **dimensions: Any) -> list[dict[str, Any]]:
    return [
        alarm["Properties"]
        for alarm in resources("AWS::CloudWatch::Alarm").values()
        if any(ns == namespace and m == metric and dims == dimensions for ns, m, dims in _metrics(alarm))
    ]


def test_api_alarms_watch_the_stage_that_exists():
    api = translated()["Resources"]["Api"]["Properties"]
    dimensions = {"ApiName": api["Name"], "Stage": {"Ref": "Stage"}}
    (rate,) = _watching("AWS/ApiGateway", "5XXError", **dimensions)
    assert _watching("AWS/ApiGateway", "Count", **dimensions) == [rate]
    (expression,) = [q for q in rate["Metrics"] if q.get("ReturnData")]
    assert "errors / requests" in expression["Expression"] and rate["Threshold"] < 1  # a rate, not a count
    (latency,) = _watching("AWS/ApiGateway", "Latency", **dimensions)
    assert latency["ExtendedStatistic"] == "p99"


def test_every_function_has_error_and_throttle_alarms():
    for name in functions():
        for metric in ("Errors", "Throttles"):
            (alarm,) = _watching("AWS/Lambda", metric, FunctionName={"Ref": name})
            assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold" and alarm["Threshold"] == 1, (name, metric)


def test_a_dispatcher_that_stops_running_alarms_within_five_minutes():
    (alarm,) = _watching("AWS/Lambda", "Invocations", FunctionName={"Ref": "ReminderDispatchFunction"})
    assert alarm["ComparisonOperator"] == "LessThanThreshold" and alarm["Threshold"] == 1
    assert alarm["Period"] * alarm["EvaluationPeriods"] == 300 and alarm["DatapointsToAlarm"] == alarm["EvaluationPeriods"]
    assert alarm["TreatMissingData"] == "breaching"  # a function that never runs reports nothing


def test_queue_alarms_oldest_reminder_and_every_dead_letter_queue():
    (age,) = _watching("AWS/SQS", "ApproximateAgeOfOldestMessage", QueueName={"Fn::GetAtt": ["ReminderQueue", "QueueName"]})
    assert age["ComparisonOperator"] == "GreaterThanThreshold"
    template = translated()["Resources"]
    dead_letter = {
        ref(q["Properties"]["RedrivePolicy"]["deadLetterTargetArn"])
        for q in resources("AWS::SQS::Queue").values()
        if "RedrivePolicy" in q["Properties"]
    }
    dead_letter |= {
        ref(t["DeadLetterConfig"]["Arn"])
        for rule in resources("AWS::Events::Rule").values()
        for t in rule["Properties"]["Targets"]
        if "DeadLetterConfig" in t
    }
    dead_letter |= {
        ref(c["Properties"]["DestinationConfig"]["OnFailure"]["Destination"]) for c in resources("AWS::Lambda::EventInvokeConfig").values()
    }
    assert dead_letter == {"ReminderDeadLetterQueue", "ReminderScheduleDeadLetterQueue", "ReminderDispatchFailureQueue"}
    for queue in dead_letter:
        assert template[queue]["Type"] == "AWS::SQS::Queue"
        (depth,) = _watching("AWS/SQS", "ApproximateNumberOfMessagesVisible", QueueName={"Fn::GetAtt": [queue, "QueueName"]})
        assert depth["Threshold"] == 0 and depth["ComparisonOperator"] == "GreaterThanThreshold", queue


# ------------------------------------------------------------------ the scheduled dispatcher


def test_dispatcher_failures_are_retried_then_kept():
    (props,) = [
        c["Properties"]
        for c in resources("AWS::Lambda::EventInvokeConfig").values()
        if ref(c["Properties"]["FunctionName"]) == "ReminderDispatchFunction"
    ]
    assert props["Qualifier"] == "live"
    assert 0 <= props["MaximumRetryAttempts"] <= 2 and 60 <= props["MaximumEventAgeInSeconds"] <= 300
    failures = ref(props["DestinationConfig"]["OnFailure"]["Destination"])
    role = translated()["Resources"]["ReminderDispatchFunctionRole"]["Properties"]
    statements = [s for p in role["Policies"] for s in p["PolicyDocument"]["Statement"]]
    assert {"Action": "sqs:SendMessage", "Effect": "Allow", "Resource": {"Fn::GetAtt": [failures, "Arn"]}} in statements

    (rule_name, rule), *others = [(n, r) for n, r in resources("AWS::Events::Rule").items() if n.startswith("ReminderDispatchFunction")]
    assert not others and rule["Properties"]["ScheduleExpression"] == "rate(1 minute)"
    (target,) = rule["Properties"]["Targets"]
    assert ref(target["Arn"]) == alias_of("ReminderDispatchFunction")
    assert target["RetryPolicy"]["MaximumRetryAttempts"] >= 1 and target["RetryPolicy"]["MaximumEventAgeInSeconds"] <= 300
    dead_letter = ref(target["DeadLetterConfig"]["Arn"])
    (policy,) = [p["Properties"] for p in resources("AWS::SQS::QueuePolicy").values() if {"Ref": dead_letter} in p["Properties"]["Queues"]]
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"} and statement["Action"] == "sqs:SendMessage"
    assert statement["Condition"] == {"ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": [rule_name, "Arn"]}}}


# ------------------------------------------------------------------ thumbnails


def test_thumbnails_are_served_by_cloudfront_with_origin_access_control():
    template = translated()["Resources"]
    (distribution_name, distribution), *others = resources("AWS::CloudFront::Distribution").items()
    assert not others
    config = distribution["Properties"]["DistributionConfig"]
    (origin,) = config["Origins"]
    assert origin["DomainName"] == {"Fn::GetAtt": ["ThumbnailBucket", "RegionalDomainName"]}
    assert template[ref(origin["OriginAccessControlId"])]["Properties"]["OriginAccessControlConfig"]["SigningBehavior"] == "always"
    assert origin["S3OriginConfig"] == {"OriginAccessIdentity": ""}  # no legacy OAI
    assert config["DefaultCacheBehavior"]["ViewerProtocolPolicy"] in ("redirect-to-https", "https-only")

    (policy,) = resources("AWS::S3::BucketPolicy").values()
    assert policy["Properties"]["Bucket"] == {"Ref": "ThumbnailBucket"}
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    allows = [s for s in statements if s["Effect"] == "Allow"]
    assert [s["Principal"] for s in allows] == [{"Service": "cloudfront.amazonaws.com"}] and allows[0]["Action"] == "s3:GetObject"
    source = allows[0]["Condition"]["StringEquals"]["AWS:SourceArn"]["Fn::Sub"]
    assert source.endswith(f":distribution/${{{distribution_name}}}")
    (deny,) = [s for s in statements if s["Effect"] == "Deny"]
    assert deny["Principal"] == "*" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}

    bucket = template["ThumbnailBucket"]["Properties"]
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    rules = bucket["LifecycleConfiguration"]["Rules"]
    assert any(r.get("AbortIncompleteMultipartUpload") for r in rules) and any(r.get("NoncurrentVersionExpiration") for r in rules)


def test_functions_link_thumbnails_under_the_distribution_or_the_custom_base():
    cdn = {"Fn::Sub": "https://${ThumbnailDistribution.DomainName}"}
    base = {"Fn::If": ["HasThumbnailBaseUrl", {"Ref": "ThumbnailBaseUrl"}, cdn]}
    for name, function in functions().items():
        env = function["Properties"]["Environment"]["Variables"]
        assert env["THUMBNAIL_BASE_URL"] == base, name
        default = env["DEFAULT_THUMBNAIL_URL"]["Fn::If"]
        assert default[:2] == ["HasDefaultThumbnailUrl", {"Ref": "DefaultThumbnailUrl"}]
        assert default[2] == {"Fn::Sub": ["${Base}/" + DEFAULT_THUMBNAIL_KEY, {"Base": base}]}, name
    assert "example.com" not in (ROOT / "template.yaml").read_text()  # no placeholder host


def test_the_local_run_serves_what_the_distribution_would():
    from local.emulation import function_environment

    api = "http://127.0.0.1:3000"
    env = function_environment(Template.load(Stage="local"), "CreateStreamFunction", "http://127.0.0.1:5055", api)
    assert env["THUMBNAIL_BASE_URL"] == f"{api}/_local/thumbnails"
    assert env["DEFAULT_THUMBNAIL_URL"] == f"{api}/_local/thumbnails/{DEFAULT_THUMBNAIL_KEY}"
    custom = function_environment(Template.load(ThumbnailBaseUrl="https://img.example.org"), "GetStreamFunction", "http://x", api)
    assert custom["DEFAULT_THUMBNAIL_URL"] == f"https://img.example.org/{DEFAULT_THUMBNAIL_KEY}"


def test_the_default_thumbnail_is_a_real_image_in_the_repository():
    content = DEFAULT_THUMBNAIL.read_bytes()
    accepted = prepare_thumbnail(content)  # what the create endpoint accepts as a thumbnail (decodes, within the limits)
    assert (accepted.content_type, accepted.extension) == ("image/png", "png")
    assert 1_000 < len(content) < 100_000


# ------------------------------------------------------------------ versions, data, switches


def test_every_function_is_called_through_its_alias():
    template = translated()["Resources"]
    aliases = {name: alias_of(name) for name in functions()}
    for name, alias in aliases.items():
        props = template[alias]["Properties"]
        assert props["Name"] == "live" and template[ref(props["FunctionVersion"])]["Type"] == "AWS::Lambda::Version", name
    for permission in resources("AWS::Lambda::Permission").values():
        assert ref(permission["Properties"]["FunctionName"]) in aliases.values()
    body = json.dumps(template["Api"]["Properties"]["Body"])
    for name, alias in aliases.items():
        if Template.load().functions()[name].api_events:
            assert f'"{name}.Arn' not in body and f"${{{alias}}}" in body, name


def test_a_new_layer_or_environment_publishes_new_versions():
    def versions(template: dict[str, Any]) -> set[str]:
        return set(resources("AWS::Lambda::Version", template))

    source = (ROOT / "template.yaml").read_text()
    before = versions(translated(source))
    new_layer = versions(translated(source.replace("ContentUri: layers/common/", "ContentUri: layers/common-next/")))
    new_env = versions(translated(source.replace("POWERTOOLS_LOG_LEVEL: INFO", "POWERTOOLS_LOG_LEVEL: DEBUG")))
    assert len(before) == len(functions())
    assert not before & new_layer and not before & new_env  # each function gets a new version, not a stale alias


def test_snapstart_is_a_switch_off_by_default():
    template = translated()
    assert template["Parameters"]["SnapStart"]["Default"] == "Disabled"
    assert template["Conditions"]["SnapStartEnabled"] == {"Fn::Equals": [{"Ref": "SnapStart"}, "Enabled"]}
    for name, function in functions().items():
        assert function["Properties"]["SnapStart"] == {"Fn::If": ["SnapStartEnabled", {"ApplyOn": "PublishedVersions"}, {"Ref": "AWS::NoValue"}]}, (
            name
        )


def test_data_survives_mistakes():
    template = translated()["Resources"]
    table = template["MainTable"]
    assert table["Properties"]["DeletionProtectionEnabled"] is True
    assert table["Properties"]["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert table["DeletionPolicy"] == table["UpdateReplacePolicy"] == "Retain"
    secrets = resources("AWS::SecretsManager::Secret")
    assert set(secrets) == {"JwtSecret", "ApiTokenSecret", "AgoraSecret", "AgoraNotificationSecret"}
    for name, secret in secrets.items():
        assert secret.get("DeletionPolicy") == secret.get("UpdateReplacePolicy") == "Retain", name


def test_every_suppressed_lint_rule_says_why():
    data = Template.load().data
    places = [("template", data.get("Metadata", {}))]
    places += [(name, res.get("Metadata", {})) for name, res in data["Resources"].items()]
    suppressed = 0
    for place, metadata in places:
        ignored = metadata.get("cfn-lint", {}).get("config", {}).get("ignore_checks", [])
        reasons = metadata.get("LintSuppressions", {})
        for rule in ignored:
            assert len(reasons.get(rule, "")) > 40, f"{place}: {rule} is suppressed without a reason in Metadata.LintSuppressions"
        suppressed += len(ignored)
    assert suppressed >= 1


# ------------------------------------------------------------------ the layer's lock


def _lock() -> dict[str, tuple[str, list[str]]]:
    text = (LAYER / "requirements.lock").read_text().replace("\\\n", " ")
    entries = {}
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            spec, *hashes = line.split()
            name, version = spec.split("==")
            entries[name] = (version, [h for h in hashes if h.startswith("--hash=sha256:")])
    return entries


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, version = line.split("==")
            pins[re.sub(r"\[.*\]", "", name).lower().replace("_", "-")] = version
    return pins


def test_the_layer_installs_a_hashed_lock_of_its_whole_closure():
    lock = _lock()
    assert all(len(hashes) == 1 and len(hashes[0]) == len("--hash=sha256:") + 64 for _, hashes in lock.values())
    for requirements in ("requirements.txt", "requirements-sdist.txt"):
        for name, version in _pins(LAYER / requirements).items():
            assert lock[name][0] == version, f"{requirements} pins {name}=={version}, the lock has {lock.get(name)}: run `make -C layers/common lock`"
    assert {"pydantic-core", "cryptography", "cffi", "wrapt", "typing-extensions"} <= set(lock)  # dependencies of dependencies
    assert "botocore" not in lock  # the runtime's
    build = (LAYER / "Makefile").read_text().split("build-CommonLayer:", 1)[1].split("\n\n", 1)[0]
    assert "--require-hashes" in build and "--no-deps" in build and "-r requirements.lock" in build
    assert "requirements.txt" not in build
