"""API Gateway's request throttling, applied by the local gateway as the stage applies it.

What AWS documents, and this module does:

- "API Gateway throttles requests to your API using the token bucket algorithm, where a token counts for a
  request" (API Gateway developer guide, "Throttle requests to your REST APIs for better throughput in API
  Gateway"). A bucket holds up to the burst limit, starts full and refills at the rate limit a second; a
  request takes one token, and a request finding less than one is refused with the ``THROTTLED`` gateway
  response (``429 Too Many Requests`` by default; the template renders it in the envelope).
- "Per-API, per-stage throttling limits are applied at the API method level for a stage. You can configure
  the same settings for all methods, or configure different throttle settings for each method" (same
  page): one bucket per method of the stage (resource path and HTTP method; an ``ANY`` method is one
  method), sized by the stage's ``MethodSettings``: ``ResourcePath: "/*"`` and ``HttpMethod: "*"`` for
  every method, a ``ResourcePath`` such as ``/~1api~1v1~1live-stream~1join-as-audience`` ("Forward slashes
  (/) are encoded as ~1 ... the path value /resource/subresource must be encoded as
  /~1resource~1subresource", the MethodSetting reference) and/or an ``HttpMethod`` to override them for
  those methods only. The most specific entry that sets a value wins (path and method, then path, then
  method, then ``/*`` ``*``); a method no entry covers has no method throttle.
- The account's limit, shared by every API of the account in the region: "Throttle quota per account,
  per Region across HTTP APIs, REST APIs, WebSocket APIs, and WebSocket callback APIs: 10,000 requests per
  second (RPS) with an additional burst capacity provided by the token bucket algorithm, using a maximum
  bucket capacity of 5,000 requests" ("Amazon API Gateway quotas"). Every request the API receives takes a
  token from it too, a path no resource matches included. The guide applies the method's limit before the
  account's; here a request is admitted only when both buckets have a token, and a refused one takes none
  (either refusal is the same ``THROTTLED`` answer).

AWS calls its throttles "targets rather than guaranteed request ceilings" (applied on a best-effort basis,
across its fleet); the local gateway applies them exactly, so nothing passes locally that the stage is
configured to refuse. The clock is monotonic and injectable (tests move it instead of sleeping); one lock
guards the buckets, which the gateway's request threads share.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from local.cfn import MethodSettingConfig, Template

Method = tuple[str, str]  # (resource, HTTP method): ("/api/v1/live-stream/{id}/leave", "POST"), ("/{proxy+}", "ANY")


@dataclass(frozen=True)
class Limit:
    rate: float  # tokens added a second (ThrottlingRateLimit)
    burst: int  # the bucket's capacity (ThrottlingBurstLimit)


ACCOUNT_LIMIT = Limit(rate=10_000, burst=5_000)  # the default quota per account and region (see above)


class TokenBucket:
    """Up to ``limit.burst`` tokens, full at first, ``limit.rate`` more each second; a request takes one."""

    def __init__(self, limit: Limit, now: float) -> None:
        self.limit = limit
        self.tokens = float(limit.burst)
        self.updated = now

    def has_token(self, now: float) -> bool:
        if now > self.updated:
            self.tokens = min(float(self.limit.burst), self.tokens + (now - self.updated) * self.limit.rate)
            self.updated = now
        return self.tokens >= 1

    def take(self) -> None:
        self.tokens -= 1


def _covers(setting: MethodSettingConfig, method: Method) -> bool:
    resource, http_method = method
    return setting.resource in ("*", resource) and setting.http_method in ("*", http_method)


def _specificity(setting: MethodSettingConfig) -> tuple[bool, bool]:
    return setting.resource != "*", setting.http_method != "*"


def method_limit(settings: Iterable[MethodSettingConfig], method: Method) -> Limit | None:
    """The throttle of one method: each value from the most specific entry covering the method that sets
    it; ``None`` when no entry sets both."""
    covering = sorted((s for s in settings if _covers(s, method)), key=_specificity, reverse=True)
    rate = next((s.rate for s in covering if s.rate is not None), None)
    burst = next((s.burst for s in covering if s.burst is not None), None)
    return None if rate is None or burst is None else Limit(rate, burst)


def check_settings(settings: Iterable[MethodSettingConfig], methods: Iterable[Method]) -> None:
    """Refuse an entry naming a resource or a method the API does not have (a typo would otherwise
    throttle nothing, silently), and two entries for the same methods (the stage keys them by path and
    method: one would silently replace the other)."""
    known, seen = set(methods), set()
    for setting in settings:
        if (setting.resource, setting.http_method) in seen:
            raise ValueError(f"MethodSettings {setting.resource_path} {setting.http_method}: given twice")
        seen.add((setting.resource, setting.http_method))
        if setting.resource != "*" and not any(_covers(setting, method) for method in known):
            raise ValueError(
                f"MethodSettings {setting.resource_path} {setting.http_method}: the API has no such method "
                f"(resource {setting.resource!r}; resources are encoded /~1a~1b for /a/b)"
            )


class Throttle:
    """The stage's method buckets and the account's bucket, shared by the gateway's request threads."""

    def __init__(
        self,
        limits: dict[Method, Limit],
        account: Limit = ACCOUNT_LIMIT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limits = limits
        self._clock = clock
        self._lock = threading.Lock()
        now = clock()
        self._account = TokenBucket(account, now)
        self._buckets = {method: TokenBucket(limit, now) for method, limit in limits.items()}

    @classmethod
    def from_template(
        cls, template: Template, methods: Iterable[Method], account: Limit = ACCOUNT_LIMIT, clock: Callable[[], float] = time.monotonic
    ) -> Throttle:
        """The throttles ``template.yaml``'s stage sets on ``methods`` (every method of the API)."""
        settings, methods = template.method_settings(), list(methods)
        check_settings(settings, methods)
        limits = {method: limit for method in methods if (limit := method_limit(settings, method)) is not None}
        return cls(limits, account, clock)

    def admit(self, method: Method | None) -> bool:
        """Take a token for a request to ``method`` (``None``: no resource matched, the account's bucket
        only); ``False``: the request is throttled, and took nothing."""
        with self._lock:
            now = self._clock()
            buckets = [self._account]
            if method is not None and method in self._buckets:
                buckets.append(self._buckets[method])
            if not all(bucket.has_token(now) for bucket in buckets):
                return False
            for bucket in buckets:
                bucket.take()
            return True
