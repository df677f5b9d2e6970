"""SnapStart hooks, called as Lambda's Python runtime calls them: registered at import through
``snapshot_restore_py`` (a stand-in here), the before-snapshot hooks when the version is
published, the after-restore hooks in every restored copy."""

from __future__ import annotations

import gc
import random
import sys
import types

import boto3
import pytest

from livestream import secrets, snapstart, store
from tests.support import function_environment, load_module, template, user_id


def fresh(name: str):
    """The function's module imported anew (as a new execution environment's init does)."""
    return template().functions()[name].load_module()


# the functions built on api.handler_for: their route gets a dry request before the snapshot
HTTP_FUNCTIONS = sorted(n for n, f in template().functions().items() if "handler_for(" in f.module_file.read_text())
OTHER_FUNCTIONS = sorted(n for n in template().functions() if n not in HTTP_FUNCTIONS)


@pytest.fixture
def runtime(monkeypatch):
    """The runtime's module: hooks are recorded, then called by the test as the runtime would."""
    hooks: dict[str, list] = {"before": [], "after": []}
    module = types.ModuleType("snapshot_restore_py")
    # the runtime runs before-snapshot hooks in the reverse order of their registration: kept in that order
    module.register_before_snapshot = lambda fn, *a, **k: hooks["before"].insert(0, lambda: fn(*a, **k)) or fn
    module.register_after_restore = lambda fn, *a, **k: hooks["after"].append(lambda: fn(*a, **k)) or fn
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", module)
    monkeypatch.setattr(snapstart, "_registered", False)
    yield hooks
    gc.unfreeze()  # settle_memory froze the test process's objects: later tests' garbage is collectable again


@pytest.fixture(autouse=True)
def one_function(monkeypatch):
    """What each function registered (its clients, its secrets) is the process's: Lambda runs one function
    per process, this test process many."""
    monkeypatch.setattr(snapstart, "_clients", set())
    monkeypatch.setattr(snapstart, "_secrets", set())


def _items(aws) -> list:
    return boto3.client("dynamodb").scan(TableName=aws.table())["Items"]


def test_without_the_runtime_module_nothing_is_registered(aws, monkeypatch):
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", None)  # import fails, as locally
    monkeypatch.setattr(snapstart, "_registered", False)
    fresh("GetStreamFunction")
    assert snapstart._registered is False


@pytest.fixture
def lambda_runtime(monkeypatch):
    """Lambda's own hook library (``snapshot-restore-py``, which the managed Python runtimes ship), its
    registries emptied for the test and restored afterwards."""
    import snapshot_restore_py

    monkeypatch.setattr(snapshot_restore_py, "_before_snapshot_registry", [])
    monkeypatch.setattr(snapshot_restore_py, "_after_restore_registry", [])
    monkeypatch.setattr(snapstart, "_registered", False)
    return snapshot_restore_py


def test_the_hooks_are_registered_with_lambdas_library_and_settle_memory_runs_last(aws, lambda_runtime):
    """Registered under the name the runtime imports, and in the order it needs: its runner pops the
    before-snapshot hooks (the last registered runs first), so the route's dry request and priming run
    before the collector settles what they left."""
    fresh("CreateStreamFunction")
    before = [fn for fn, _, _ in reversed(lambda_runtime.get_before_snapshot())]  # the order they run in
    assert before[1:] == [snapstart.prime, snapstart.settle_memory] and before[0].__name__ == "<lambda>"
    assert [fn for fn, _, _ in lambda_runtime.get_after_restore()] == [snapstart.refresh]


@pytest.mark.parametrize("name", HTTP_FUNCTIONS)
def test_priming_warms_the_route_and_touches_no_data(aws, runtime, name):
    module = fresh(name)
    assert len(runtime["before"]) == 3 and len(runtime["after"]) == 1  # the route, prime, settling memory; refresh
    with function_environment(name):  # as Lambda runs them: in the function's environment
        snapstart.prime()
        answers = snapstart.prime_routes(module.app)
    # a page that reads no data (200), validation (400), a stream that exists nowhere (404), or the first
    # AWS call stopped before it left (503)
    assert answers and all(status in (200, 400, 404, 503) for _, status in answers), answers
    assert _items(aws) == []  # nothing read or written


@pytest.mark.parametrize("name", OTHER_FUNCTIONS)
def test_the_other_functions_register_prime_and_refresh(aws, runtime, name):
    fresh(name)
    assert len(runtime["before"]) == 2 and len(runtime["after"]) == 1  # prime, settling memory; refresh
    with function_environment(name):  # as Lambda runs them: in the function's environment
        for hook in runtime["before"]:
            hook()
    assert _items(aws) == []


def test_restore_refreshes_what_copies_must_not_share(aws, runtime):
    fresh("GetStreamFunction")
    for hook in runtime["before"]:
        hook()
    secrets._cache["cached-before-snapshot"] = (0.0, "value")
    client = store.client()
    manager = client._endpoint.http_session._manager
    manager.connection_from_url("https://dynamodb.us-east-1.amazonaws.com")  # a pool made before the snapshot
    pools = manager.pools
    assert len(pools) == 1
    random.seed(7)
    expected_if_shared = random.random()
    random.seed(7)  # the state every restored copy would start from
    for hook in runtime["after"]:
        hook()
    assert random.random() != expected_if_shared
    assert "cached-before-snapshot" not in secrets._cache
    assert len(pools) == 0  # the copy opens its own connections
    assert store.client() is client  # the primed client is kept, and still answers
    assert "TableNames" in client.list_tables()


def test_first_request_after_restore_answers(api):
    creator = user_id(1)
    api.add_user(creator)
    stream = api.create(creator, title="Primed").data
    module = load_module("GetStreamFunction")  # the module the api fixture calls
    snapstart.prime()
    snapstart.prime_routes(module.app)
    snapstart.refresh()
    reply = api.get(f"/api/v1/live-stream/{stream['id']}", user=creator)
    assert reply.status == 200 and reply.data["role"] == "host"


@pytest.mark.parametrize(
    ("name", "needed"),
    [
        ("GetStreamFunction", {"jwt_secret_name"}),
        ("JoinAsAudienceFunction", {"jwt_secret_name", "agora_secret_name"}),
        ("UpsertUserFunction", {"api_token_secret_name"}),
        ("AgoraWebhookFunction", {"agora_notification_secret_name"}),
    ],
)
def test_a_restored_copy_fetches_the_secrets_its_first_request_needs(aws, runtime, name, needed):
    """Fetched by the after-restore hook, not by the first request (a round trip to the extension: ~3-8 ms
    of the first request otherwise). (The test process has loaded every function's modules: the Agora
    credentials, fetched when the token-minting module is loaded, may be among those fetched.)"""
    from livestream.settings import get_settings

    fresh(name)
    with function_environment(name):
        for hook in runtime["before"] + runtime["after"]:
            hook()
        settings = get_settings()
    assert {getattr(settings, field) for field in needed} <= set(secrets._cache)


def test_a_secret_fetch_failing_unexpectedly_does_not_fail_the_restore(aws, runtime, monkeypatch, caplog):
    """An after-restore hook that raises makes the runtime give up the restored copy; the prefetch is only
    a head start, so any failure of it is logged and left to the first request."""

    def garbled(name: str) -> str:
        raise ValueError("the extension answered something that is not its JSON")

    fresh("GetStreamFunction")
    monkeypatch.setattr(secrets, "get_secret_string", garbled)
    with function_environment("GetStreamFunction"):
        for hook in runtime["before"] + runtime["after"]:
            hook()
    assert [r.levelname for r in caplog.records if getattr(r, "setting", None) == "jwt_secret_name"] == ["ERROR"]
