"""A local stack (the same code as ``make run``) started once for the e2e session, on free ports so it
can run beside a developer's ``make run``, and stopped at the end; and the ``target`` of the smoke
flows: that local stack, or a deployed stage when ``SMOKE_API_URL`` is set (``make smoke``)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from local.cfn import ROOT
from local.emulation import client as aws_client
from local.emulation import dev_setting

OUTPUT = ROOT / "test-output"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Stack:
    base_url: str
    aws_endpoint: str
    log: Path

    def token(self, user_id: str, ttl: int = 3600) -> str:
        import jwt

        now = int(time.time())
        return jwt.encode({"sub": user_id, "iat": now, "exp": now + ttl}, dev_setting("LOCAL_JWT_SECRET"), algorithm="HS256")

    def auth(self, user_id: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(user_id)}"}

    @property
    def api_token(self) -> dict[str, str]:
        return {"Api-Token": dev_setting("LOCAL_API_TOKEN")}

    def aws(self, service: str) -> Any:
        return aws_client(service, self.aws_endpoint)

    def url(self, path: str) -> str:
        return self.base_url + path

    def add_user(self, user_id: str, **profile: Any) -> None:
        body = {"username": f"u{user_id[-6:]}", "name": "Ada", "surname": "Lovelace", **profile}
        reply = requests.put(self.url(f"/internal/v1/users/{user_id}"), json=body, headers=self.api_token, timeout=30)
        assert reply.status_code == 200, reply.text


@pytest.fixture(scope="session")
def stack() -> Stack:
    api_port, aws_port = _free_port(), _free_port()
    OUTPUT.mkdir(exist_ok=True)
    log = OUTPUT / "local-stack.log"
    env = {**os.environ, "LOCAL_API_PORT": str(api_port), "LOCAL_AWS_PORT": str(aws_port), "LOCAL_SCHEDULE_SECONDS": "0"}
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "local.run"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    stack = Stack(f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{aws_port}", log)
    deadline = time.monotonic() + 60
    while True:
        try:
            if requests.get(stack.url("/openapi.json"), timeout=5).status_code == 200:
                break
        except requests.ConnectionError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"the local stack did not start:\n{log.read_text()[-3000:]}")
        time.sleep(0.2)
    yield stack
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)


# ------------------------------------------------------------------ smoke target: local stack or deployed stage

SMOKE_VARIABLES = {
    "SMOKE_CREATOR_TOKEN": "bearer JWT of a test user who creates the streams",
    "SMOKE_VIEWER_TOKEN": "bearer JWT of a second test user who joins them",
    "SMOKE_API_TOKEN": "the Api-Token of the internal endpoints and /v1/live-events (the ApiTokenSecret)",
}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "smoke: end-to-end flows that also run against a deployed stage (make smoke API_URL=...)")


@dataclass
class User:
    id: str
    token: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class Target:
    """Where the smoke flows run: a base URL, two users with their bearer tokens, and the Api-Token."""

    base_url: str
    creator: User
    viewer: User
    api_token: dict[str, str]
    deployed: bool

    def url(self, path: str) -> str:
        return self.base_url + path


def _user_id(token: str) -> str:
    """The ``sub`` claim the API identifies a caller by (read, not verified: the API verifies it)."""
    import jwt

    return jwt.decode(token, options={"verify_signature": False})["sub"]


def _deployed_target(base_url: str) -> Target:
    missing = [f"{name} ({what})" for name, what in SMOKE_VARIABLES.items() if not os.environ.get(name)]
    if missing:
        pytest.fail("make smoke needs these environment variables:\n  " + "\n  ".join(missing))
    creator, viewer = (os.environ["SMOKE_CREATOR_TOKEN"], os.environ["SMOKE_VIEWER_TOKEN"])
    return Target(
        base_url.rstrip("/"),
        User(_user_id(creator), creator),
        User(_user_id(viewer), viewer),
        {"Api-Token": os.environ["SMOKE_API_TOKEN"]},
        deployed=True,
    )


@pytest.fixture(scope="session")
def target(request: pytest.FixtureRequest) -> Target:
    base_url = os.environ.get("SMOKE_API_URL")
    if base_url:
        return _deployed_target(base_url)
    stack: Stack = request.getfixturevalue("stack")
    creator, viewer = os.urandom(12).hex(), os.urandom(12).hex()
    return Target(stack.base_url, User(creator, stack.token(creator)), User(viewer, stack.token(viewer)), stack.api_token, deployed=False)
