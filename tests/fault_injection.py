"""Deterministic AWS faults for tests, through botocore's own event system.

A ``before-call.<service>.<Operation>`` handler that answers short-circuits the call: no request is
made, so the client's retries never run and no time passes (the error is raised exactly as botocore
raises a parsed error response). Connection errors are raised from the same hook. A partial
``SendMessageBatch`` really sends the other entries and reports the refused ones as ``Failed``,
as SQS does.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from botocore.awsrequest import AWSResponse

_ids = itertools.count()


def _event(client: Any, stage: str, operation: str) -> str:
    return f"{stage}.{client.meta.service_model.service_id.hyphenize()}.{operation}"


class Faults:
    """Faults registered on clients' event systems; :meth:`clear` unregisters them all."""

    def __init__(self) -> None:
        self._handlers: list[tuple[Any, str, str]] = []
        self.injected: list[str] = []

    def _register(self, client: Any, event: str, handler: Any) -> None:
        unique_id = f"fault-{next(_ids)}"
        client.meta.events.register_first(event, handler, unique_id=unique_id)
        self._handlers.append((client, event, unique_id))

    def error(
        self,
        client: Any,
        operation: str,
        code: str,
        *,
        status: int = 400,
        times: int | None = None,
        skip: int = 0,
        reasons: list[str] | None = None,
        when: Callable[[bytes], bool] | None = None,
    ) -> None:
        """Answer ``operation`` with the AWS error ``code`` (``times`` calls after the first ``skip``
        ones, or every call). ``reasons``: the per-item cancellation reasons of a
        ``TransactionCanceledException``. ``when``: only calls whose serialized request body it accepts."""
        remaining = [times]
        skipped = [skip]

        def handler(params: dict[str, Any], **_: Any) -> Any:
            if when is not None and not when(params.get("body") or b""):
                return None
            if skipped[0] > 0:
                skipped[0] -= 1
                return None
            if remaining[0] is not None:
                if remaining[0] <= 0:
                    return None
                remaining[0] -= 1
            self.injected.append(f"{operation}:{code}")
            parsed: dict[str, Any] = {"Error": {"Code": code, "Message": "injected fault"}, "ResponseMetadata": {"HTTPStatusCode": status}}
            if reasons is not None:
                parsed["CancellationReasons"] = [{"Code": r} for r in reasons]
            return AWSResponse("https://fault.invalid/", status, {}, None), parsed

        self._register(client, _event(client, "before-call", operation), handler)

    def raises(self, client: Any, operation: str, exception: Exception, *, times: int | None = None) -> None:
        """Raise ``exception`` (e.g. botocore's ``EndpointConnectionError``) instead of calling."""
        remaining = [times]

        def handler(**_: Any) -> Any:
            if remaining[0] is not None:
                if remaining[0] <= 0:
                    return None
                remaining[0] -= 1
            self.injected.append(f"{operation}:{type(exception).__name__}")
            raise exception

        self._register(client, _event(client, "before-call", operation), handler)

    def refuse_entries(self, sqs: Any, refuse: Any, *, times: int | None = None) -> None:
        """``SendMessageBatch`` sends the entries ``refuse(entry)`` accepts and reports the others as
        ``Failed`` (``InternalError``, not the sender's fault), as a partially failing SQS does."""
        remaining = [times]
        refused: list[dict[str, Any]] = []

        def drop(params: dict[str, Any], **_: Any) -> None:
            refused.clear()
            if remaining[0] is not None:
                if remaining[0] <= 0:
                    return
                remaining[0] -= 1
            refused.extend(e for e in params["Entries"] if refuse(e))
            params["Entries"] = [e for e in params["Entries"] if not refuse(e)]
            if refused:
                self.injected.append(f"SendMessageBatch:partial({len(refused)})")

        def report(parsed: dict[str, Any], **_: Any) -> None:
            if refused:
                parsed.setdefault("Failed", []).extend(
                    {"Id": e["Id"], "SenderFault": False, "Code": "InternalError", "Message": "injected fault"} for e in refused
                )

        self._register(sqs, _event(sqs, "before-parameter-build", "SendMessageBatch"), drop)
        self._register(sqs, _event(sqs, "after-call", "SendMessageBatch"), report)

    def clear(self) -> None:
        for client, event, unique_id in self._handlers:
            client.meta.events.unregister(event, unique_id=unique_id)
        self._handlers.clear()


@contextmanager
def recording_sends(sqs: Any) -> Iterator[list[tuple[str, str]]]:
    """Every reminder SQS accepted through ``sqs``, as ``(liveStreamId, userId)``, in order."""
    accepted: list[tuple[str, str]] = []

    def before(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["fault_injection_entries"] = list(params["Entries"])

    def after(parsed: dict[str, Any], context: dict[str, Any], http_response: Any, **_: Any) -> None:
        if http_response.status_code >= 300:
            return
        entries = {e["Id"]: e for e in context.get("fault_injection_entries", [])}
        for ok in parsed.get("Successful", []):
            body = json.loads(entries[ok["Id"]]["MessageBody"])
            accepted.append((body["liveStreamId"], body["userId"]))

    uid_before, uid_after = f"rec-{next(_ids)}", f"rec-{next(_ids)}"
    sqs.meta.events.register("before-parameter-build.sqs.SendMessageBatch", before, unique_id=uid_before)
    sqs.meta.events.register("after-call.sqs.SendMessageBatch", after, unique_id=uid_after)
    try:
        yield accepted
    finally:
        sqs.meta.events.unregister("before-parameter-build.sqs.SendMessageBatch", unique_id=uid_before)
        sqs.meta.events.unregister("after-call.sqs.SendMessageBatch", unique_id=uid_after)
