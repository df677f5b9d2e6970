"""template.yaml → the CloudFormation template ``sam deploy`` would create, printed as JSON.

Runs in the SAM CLI's virtualenv (``.venv-sam/bin/python tools/sam_translate.py``): the SAM translator
(``aws-sam-translator``, the library ``sam deploy`` uses) pins a pydantic the layer's pin excludes, so it
cannot live in the project's own virtualenv. Local code locations become S3 locations as ``sam package``
would make them (``s3://sam-artifacts/<path>``), so a different path gives a different version hash.

    .venv-sam/bin/python tools/sam_translate.py [--template template.yaml] [--region us-east-1] [Name=Value ...]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from samtranslator.translator.managed_policy_translator import ManagedPolicyLoader
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

CODE_PROPERTIES = {"AWS::Serverless::Function": "CodeUri", "AWS::Serverless::LayerVersion": "ContentUri"}


class NoManagedPolicies(ManagedPolicyLoader):
    """The template names managed policies by ARN only: no IAM call is needed to look names up."""

    def __init__(self) -> None:
        pass

    def load(self) -> dict[str, str]:
        return {}


def packaged(template: dict[str, Any]) -> dict[str, Any]:
    for resource in template.get("Resources", {}).values():
        key = CODE_PROPERTIES.get(resource.get("Type"))
        location = (resource.get("Properties") or {}).get(key) if key else None
        if isinstance(location, str) and not location.startswith("s3://"):
            resource["Properties"][key] = f"s3://sam-artifacts/{location.strip('/')}"
    return template


def translate(text: str, parameters: dict[str, str], region: str = "us-east-1") -> dict[str, Any]:
    os.environ["AWS_DEFAULT_REGION"] = region  # the translator asks boto3 for the region (no AWS call)
    return transform(packaged(yaml_parse(text)), dict(parameters), NoManagedPolicies())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--template", default=str(Path(__file__).resolve().parents[1] / "template.yaml"))
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("parameters", nargs="*", metavar="Name=Value")
    args = parser.parse_args()
    parameters = dict(p.split("=", 1) for p in args.parameters)
    json.dump(translate(Path(args.template).read_text(), parameters, args.region), sys.stdout, indent=1, sort_keys=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
