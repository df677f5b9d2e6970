"""`make deploy`'s steps around `sam deploy`: whether samconfig.toml already holds the guided answers,
and, after the deploy, the default thumbnail uploaded to the stack's bucket (behind its CloudFront
distribution) plus the figures an operator needs next.

    python -m tools.deploy_assets answered [--config-env default]   # exit 0: plain `sam deploy` will do
    python -m tools.deploy_assets upload [--config-env default]     # after `sam deploy`

Runs in the SAM CLI's virtualenv (boto3 and the stack's region and name from samconfig.toml).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import sys
import time
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SAMCONFIG = ROOT / "samconfig.toml"
# The image of streams created without a thumbnail: public at <thumbnail base URL>/defaults/thumbnail.png
# (the template's DEFAULT_THUMBNAIL_URL); the local run uploads it to its bucket as well.
DEFAULT_THUMBNAIL = ROOT / "assets" / "default-thumbnail.png"
DEFAULT_THUMBNAIL_KEY = "defaults/thumbnail.png"
CACHE_CONTROL = "public, max-age=86400"
# A parameter only the guided deploy's saved answers name (the committed samconfig.toml does not)
GUIDED_MARKER = "AlarmEmail="


def deploy_parameters(config_env: str, path: Path = SAMCONFIG) -> dict[str, Any]:
    config = tomllib.loads(path.read_text())
    env = config.get(config_env, {})
    return {**env.get("global", {}).get("parameters", {}), **env.get("deploy", {}).get("parameters", {})}


def answered(config_env: str, path: Path = SAMCONFIG) -> bool:
    """True when `sam deploy --guided` has saved its answers for this environment."""
    return GUIDED_MARKER in str(deploy_parameters(config_env, path).get("parameter_overrides", ""))


def stack_outputs(cloudformation: Any, stack: str) -> dict[str, str]:
    (description,) = cloudformation.describe_stacks(StackName=stack)["Stacks"]
    return {o["OutputKey"]: o["OutputValue"] for o in description.get("Outputs", [])}


def upload_default_thumbnail(s3: Any, bucket: str) -> bool:
    """Put the image in the bucket unless the same bytes are there already; True when it uploaded."""
    content = DEFAULT_THUMBNAIL.read_bytes()
    md5 = hashlib.md5(content, usedforsecurity=False)
    try:
        if s3.head_object(Bucket=bucket, Key=DEFAULT_THUMBNAIL_KEY)["ETag"].strip('"') == md5.hexdigest():
            return False
    except s3.exceptions.ClientError as exc:
        if exc.response["Error"]["Code"] not in ("404", "NoSuchKey", "NotFound"):
            raise
    s3.put_object(
        Bucket=bucket,
        Key=DEFAULT_THUMBNAIL_KEY,
        Body=content,
        ContentType="image/png",
        CacheControl=CACHE_CONTROL,
        ContentMD5=base64.b64encode(md5.digest()).decode(),
    )
    return True


def invalidate(cloudfront: Any, distribution_id: str) -> None:
    """A changed default image shows at once instead of after the cached copy expires."""
    cloudfront.create_invalidation(
        DistributionId=distribution_id,
        InvalidationBatch={"Paths": {"Quantity": 1, "Items": [f"/{DEFAULT_THUMBNAIL_KEY}"]}, "CallerReference": str(time.time_ns())},
    )


def upload(config_env: str) -> int:
    import boto3

    params = deploy_parameters(config_env)
    session = boto3.session.Session(region_name=params.get("region"), profile_name=params.get("profile"))
    outputs = stack_outputs(session.client("cloudformation"), params["stack_name"])
    if upload_default_thumbnail(session.client("s3"), outputs["ThumbnailBucketName"]):
        invalidate(session.client("cloudfront"), outputs["ThumbnailDistributionId"])
        print(f"uploaded {DEFAULT_THUMBNAIL.relative_to(ROOT)} to s3://{outputs['ThumbnailBucketName']}/{DEFAULT_THUMBNAIL_KEY}")
    else:
        print(f"s3://{outputs['ThumbnailBucketName']}/{DEFAULT_THUMBNAIL_KEY} is up to date")
    print(f"default thumbnail: {outputs['ThumbnailBaseUrl']}/{DEFAULT_THUMBNAIL_KEY}")
    print(f"API: {outputs['ApiUrl']}")
    print(f"secrets to fill in (README, Deploy): {outputs['AgoraSecretName']} (Agora), {outputs['JwtSecretName']}, {outputs['ApiTokenSecretName']}")
    print(f"verify: make smoke API_URL={outputs['ApiUrl']}  (with the SMOKE_* tokens)")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("step", choices=["answered", "upload"])
    parser.add_argument("--config-env", default="default")
    args = parser.parse_args()
    if args.step == "answered":
        return 0 if answered(args.config_env) else 1
    return upload(args.config_env)


if __name__ == "__main__":
    sys.exit(main())
