"""template.yaml as data: resources, functions, their routes and environments, intrinsics resolved.

Only what the local run needs: ``Ref``, ``Fn::Sub``, ``Fn::If``/``Not``/``Equals``, ``Fn::GetAtt``
and ``Fn::Join`` over parameters (their defaults), conditions and the locally created resources.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from types import ModuleType
from typing import Any, ClassVar, Literal

import yaml

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "template.yaml"
LAYER_DIR = ROOT / "layers" / "common"
REGION = "us-east-1"
ACCOUNT = "123456789012"
# the AWS services the local run creates resources in or reads (boto3's service names)
Service = Literal["dynamodb", "dynamodbstreams", "events", "s3", "secretsmanager", "sqs"]


class _Loader(yaml.SafeLoader):
    """Reads CloudFormation short tags as their long form: ``!Ref X`` → ``{"Ref": "X"}``."""


def _tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    elif isinstance(node, yaml.MappingNode):
        value = loader.construct_mapping(node, deep=True)
    else:
        raise yaml.constructor.ConstructorError(None, None, f"unexpected node for !{suffix}", node.start_mark)
    name = suffix if suffix in ("Ref", "Condition") else f"Fn::{suffix}"
    if name == "Fn::GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {name: value}


_Loader.add_multi_constructor("!", _tag)


@dataclass
class ApiEvent:
    path: str
    method: str  # upper case; ANY for any method


@dataclass
class StreamEvent:
    """A ``Type: DynamoDB`` event of a function: the event source mapping SAM creates, as data."""

    name: str
    table: str  # logical id of the table whose stream it reads (``Stream: !GetAtt <Table>.StreamArn``)
    properties: dict[str, Any]

    @property
    def batch_size(self) -> int:
        return int(self.properties.get("BatchSize", 100))

    @property
    def starting_position(self) -> str:
        return str(self.properties["StartingPosition"])

    @property
    def batching_window(self) -> float:
        return float(self.properties.get("MaximumBatchingWindowInSeconds", 0))

    @property
    def bisect(self) -> bool:
        return bool(self.properties.get("BisectBatchOnFunctionError", False))

    @property
    def max_retries(self) -> int:
        """-1: until the record expires."""
        return int(self.properties.get("MaximumRetryAttempts", -1))

    @property
    def max_record_age(self) -> int:
        """Seconds; -1: until the record expires."""
        return int(self.properties.get("MaximumRecordAgeInSeconds", -1))

    @property
    def report_item_failures(self) -> bool:
        return "ReportBatchItemFailures" in (self.properties.get("FunctionResponseTypes") or [])

    @property
    def filter_patterns(self) -> list[str]:
        return [f["Pattern"] for f in (self.properties.get("FilterCriteria") or {}).get("Filters", [])]

    @property
    def on_failure(self) -> Any:
        """The on-failure destination, unresolved (e.g. ``{"Fn::GetAtt": [<Queue>, "Arn"]}``), or ``None``."""
        return ((self.properties.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination")

    @property
    def enabled(self) -> bool:
        return bool(self.properties.get("Enabled", True))


@dataclass
class Function:
    name: str
    properties: dict[str, Any]
    template: Template

    @property
    def code_dir(self) -> Path:
        return ROOT / str(self.properties["CodeUri"])

    @property
    def module_file(self) -> Path:
        return self.code_dir / f"{self._handler.rsplit('.', 1)[0]}.py"

    @property
    def handler_name(self) -> str:
        return self._handler.rsplit(".", 1)[1]

    @property
    def _handler(self) -> str:
        """``<module>.<function>``, as the template's ``Handler`` names it."""
        return str(self.properties["Handler"])

    @property
    def api_events(self) -> list[ApiEvent]:
        events = (self.properties.get("Events") or {}).values()
        return [ApiEvent(e["Properties"]["Path"], e["Properties"]["Method"].upper()) for e in events if e["Type"] == "Api"]

    @property
    def schedules(self) -> list[str]:
        events = (self.properties.get("Events") or {}).values()
        return [e["Properties"].get("Schedule", "") for e in events if e["Type"] in ("Schedule", "ScheduleV2")]

    @property
    def stream_events(self) -> list[StreamEvent]:
        """The function's ``Type: DynamoDB`` events (DynamoDB stream event source mappings)."""
        found = []
        for name, event in (self.properties.get("Events") or {}).items():
            if event["Type"] == "DynamoDB":
                stream = event["Properties"]["Stream"]
                table = stream["Fn::GetAtt"][0] if isinstance(stream, dict) and "Fn::GetAtt" in stream else None
                if table is None:
                    raise ValueError(f"{self.name}.{name}: the local run reads streams given as !GetAtt <Table>.StreamArn")
                found.append(StreamEvent(name, table, event["Properties"]))
        return found

    def environment(self, names: dict[str, str]) -> dict[str, str]:
        """Globals' variables merged with the function's own, intrinsics resolved against ``names``."""
        merged = {
            **self.template.globals.get("Environment", {}).get("Variables", {}),
            **self.properties.get("Environment", {}).get("Variables", {}),
        }
        return {k: str(self.template.resolve(v, names)) for k, v in merged.items()}

    @property
    def timeout(self) -> int:
        return int(self.properties.get("Timeout", self.template.globals.get("Timeout", 3)))

    @property
    def memory(self) -> int:
        return int(self.properties.get("MemorySize", self.template.globals.get("MemorySize", 128)))

    def load_module(self) -> ModuleType:
        """The handler module under a name of its own (every function's ``app.py`` would shadow the
        others as a plain ``import app``)."""
        spec = importlib.util.spec_from_file_location(f"functions_{self.name}", self.module_file)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module


@dataclass
class Template:
    data: dict[str, Any]
    parameters: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path = TEMPLATE, **parameters: Any) -> Template:
        data = yaml.load(path.read_text(), Loader=_Loader)
        defaults = {k: v.get("Default", "") for k, v in (data.get("Parameters") or {}).items()}
        return cls(data, {**defaults, **parameters})

    @property
    def globals(self) -> dict[str, Any]:
        function_globals: dict[str, Any] = (self.data.get("Globals") or {}).get("Function", {})
        return function_globals

    def resources(self, kind: str) -> dict[str, dict[str, Any]]:
        return {name: res for name, res in self.data["Resources"].items() if res["Type"] == kind}

    @cached_property
    def _functions(self) -> dict[str, Function]:
        return {name: Function(name, res["Properties"], self) for name, res in self.resources("AWS::Serverless::Function").items()}

    def functions(self) -> dict[str, Function]:
        return self._functions

    def binary_media_types(self) -> list[str]:
        types: list[str] = []
        for api in self.resources("AWS::Serverless::Api").values():
            types += [t.replace("~1", "/") for t in api["Properties"].get("BinaryMediaTypes", [])]
        return types

    def gateway_responses(self) -> dict[str, GatewayResponseConfig]:
        """The API's ``GatewayResponses``, by response type (``DEFAULT_5XX``, ``REQUEST_TOO_LARGE``, ...)."""
        return gateway_responses(self)

    def method_settings(self) -> list[MethodSettingConfig]:
        """The stage's ``MethodSettings`` throttles, parameters resolved (their defaults, or the values given
        to ``load``)."""
        return method_settings(self)

    def condition(self, name: str, names: dict[str, str]) -> bool:
        return bool(self.resolve(self.data.get("Conditions", {})[name], names))

    def resolve(self, value: Any, names: dict[str, str]) -> Any:
        """Evaluate intrinsics; ``names`` maps logical ids (and ``<id>.<attribute>``) to local values."""
        if isinstance(value, list):
            return [self.resolve(v, names) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) != 1 or not next(iter(value)).startswith(("Ref", "Fn::", "Condition")):
            return {k: self.resolve(v, names) for k, v in value.items()}
        ((key, arg),) = value.items()
        intrinsic = self._INTRINSICS.get(key)
        return value if intrinsic is None else intrinsic(self, arg, names)

    def _get_att(self, arg: list[str], names: dict[str, str]) -> Any:
        logical, attribute = arg
        return names[f"{logical}.{attribute}"]

    def _fn_sub(self, arg: str | list[Any], names: dict[str, str]) -> str:
        text, extra = (arg, {}) if isinstance(arg, str) else (arg[0], self.resolve(arg[1], names))
        return re.sub(r"\$\{([^}]+)\}", lambda m: str(extra.get(m[1]) if m[1] in extra else self._sub(m[1], names)), text)

    def _fn_if(self, arg: list[Any], names: dict[str, str]) -> Any:
        name, then, otherwise = arg
        return self.resolve(then if self.condition(name, names) else otherwise, names)

    def _fn_not(self, arg: list[Any], names: dict[str, str]) -> bool:
        return not self.resolve(arg[0], names)

    def _fn_equals(self, arg: list[Any], names: dict[str, str]) -> bool:
        left, right = (self.resolve(a, names) for a in arg)
        return str(left) == str(right)

    def _fn_join(self, arg: list[Any], names: dict[str, str]) -> str:
        return str(arg[0]).join(str(v) for v in self.resolve(arg[1], names))

    # each intrinsic the local run evaluates, by its long-form key
    _INTRINSICS: ClassVar[dict[str, Callable[[Template, Any, dict[str, str]], Any]]] = {
        "Ref": lambda self, arg, names: self._ref(arg, names),
        "Fn::GetAtt": _get_att,
        "Fn::Sub": _fn_sub,
        "Fn::If": _fn_if,
        "Fn::Not": _fn_not,
        "Fn::Equals": _fn_equals,
        "Fn::Join": _fn_join,
        "Condition": lambda self, arg, names: self.condition(arg, names),
    }

    def _ref(self, name: str, names: dict[str, str]) -> Any:
        pseudo = {
            "AWS::Region": REGION,
            "AWS::Partition": "aws",
            "AWS::AccountId": ACCOUNT,
            "AWS::StackName": "live-stream-local",
            "AWS::URLSuffix": "amazonaws.com",
        }
        if name in pseudo:
            return pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        return names[name]

    def _sub(self, expression: str, names: dict[str, str]) -> Any:
        if "." in expression and not expression.startswith("AWS::"):
            return names[expression]
        return self._ref(expression, names)


@dataclass(frozen=True)
class GatewayResponseConfig:
    """One entry of the API's ``GatewayResponses`` as template.yaml declares it (SAM's shape)."""

    type: str
    status: int | None  # None: the response type's own default status
    templates: dict[str, str]  # content type → body template (simple ``$context`` substitution, no VTL)
    headers: dict[str, str]  # header name → static value (template ``"'value'"``, quotes removed)


def _gateway_response(kind: str, config: dict[str, Any]) -> GatewayResponseConfig:
    headers = {}
    for name, value in ((config.get("ResponseParameters") or {}).get("Headers") or {}).items():
        text = str(value)
        if len(text) < 2 or text[0] != "'" or text[-1] != "'":
            raise ValueError(f"GatewayResponses.{kind}: the local run renders static header values ('...') only, not {text!r}")
        headers[str(name)] = text[1:-1]
    status = config.get("StatusCode")
    return GatewayResponseConfig(kind, int(status) if status is not None else None, dict(config.get("ResponseTemplates") or {}), headers)


def gateway_responses(template: Template) -> dict[str, GatewayResponseConfig]:
    """The ``GatewayResponses`` of the template's one ``AWS::Serverless::Api``, by response type."""
    found: dict[str, GatewayResponseConfig] = {}
    for api in template.resources("AWS::Serverless::Api").values():
        for kind, config in (api["Properties"].get("GatewayResponses") or {}).items():
            found[kind] = _gateway_response(kind, config)
    return found


@dataclass(frozen=True)
class MethodSettingConfig:
    """One entry of the stage's ``MethodSettings``, as template.yaml declares it: ``ResourcePath`` as API
    Gateway encodes it (``/*`` every resource; ``/~1api~1v1~1live-stream~1create`` one), ``HttpMethod``
    (``*`` every method), and the throttle it sets (``None`` where the entry leaves it unset)."""

    resource_path: str
    http_method: str
    rate: float | None  # ThrottlingRateLimit: requests a second
    burst: int | None  # ThrottlingBurstLimit: the bucket's capacity

    @property
    def resource(self) -> str:
        """The resource the entry names, decoded (``/api/v1/live-stream/create``), or ``*`` for every one.
        Forward slashes are encoded as ``~1`` after the initial slash (and ``~`` as ``~0``, JSON Pointer's
        escapes), so ``/~1resource~1subresource`` is ``/resource/subresource``; the root is ``/``."""
        if self.resource_path == "/*":
            return "*"
        if self.resource_path == "/":
            return "/"
        if not self.resource_path.startswith("/~1"):
            raise ValueError(f"MethodSettings ResourcePath {self.resource_path!r}: expected /*, / or /~1<path with / as ~1>")
        return self.resource_path[1:].replace("~1", "/").replace("~0", "~")


def method_settings(template: Template) -> list[MethodSettingConfig]:
    """The ``MethodSettings`` of the template's one ``AWS::Serverless::Api`` (its stage's)."""
    found: list[MethodSettingConfig] = []
    for api in template.resources("AWS::Serverless::Api").values():
        for entry in template.resolve(api["Properties"].get("MethodSettings") or [], {}):
            rate, burst = entry.get("ThrottlingRateLimit"), entry.get("ThrottlingBurstLimit")
            found.append(
                MethodSettingConfig(
                    str(entry["ResourcePath"]),
                    str(entry["HttpMethod"]).upper(),
                    float(rate) if rate is not None else None,
                    int(burst) if burst is not None else None,
                )
            )
    return found
