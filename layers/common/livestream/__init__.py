"""Shared code of the live-stream service, shipped to every function as the CommonLayer.

Modules, by what they hold:
  clock, ids, slug         small pure helpers (time format, 24-hex ids, channel-name slugs)
  errors, envelope         the API's error types, the response envelope and a route's Response
  aws                      the AWS clients: botocore's, one session per container, no boto3
  settings, secrets        typed configuration from the environment; secrets (the Parameters and Secrets extension, or a client)
  auth                     bearer JWT and Api-Token checks
  observability            Logger, Tracer, Metrics and the Lambda entry-point decorator
  snapstart                SnapStart runtime hooks: prime before the snapshot, refresh after restore
  dispatch                 one function's routes: parameters read and validated (pydantic-core), the proxy result
  api                      the dispatcher factory with the envelope-producing error handlers
  schemas, rules           request types declared as pydantic-core schemas (no pydantic at run time); text and time rules
  queries, joins           query parameter types; the join endpoints' body (request types of schemas)
  create_command           the create body (a request type of schemas)
  models                   pydantic answer models: the contract in code, for the OpenAPI document (no function loads them)
  notifications            the Agora notification body (a request type of schemas)
  store                    DynamoDB access: keys, item codecs, transactions
  media                    thumbnail sniffing and S3 storage
  users, streams           domain logic

Lambda's init (this package is the first of ours a function imports, its handler wrapped last:
:func:`livestream.observability.instrument`) runs with Python's cyclic garbage collector paused
(:func:`end_init`; docs/performance.md, "Garbage collection during init").
"""

import gc as _gc
import os as _os

# Importing a function builds ~63,000 tracked objects that live as long as the container, and ~550-700
# that are cyclic garbage: the collector's passes over them cost 10-40% of the import's time (more on a
# busy machine) and find nearly nothing. Lambda sets this variable in every execution environment (on-demand, provisioned-concurrency,
# snap-start), as the local runner and the bench do; tests and tools import the layer without it.
_collector_paused = "AWS_LAMBDA_INITIALIZATION_TYPE" in _os.environ and _gc.isenabled()
if _collector_paused:
    _gc.disable()


def end_init() -> None:
    """The function's modules are loaded: their objects move to the collector's permanent generation
    (``gc.freeze``: later collections do not walk what lives as long as the container) and the collector
    runs again. Does nothing unless init paused it; called by every entry point's wrapping."""
    global _collector_paused
    if _collector_paused:
        _collector_paused = False
        _gc.freeze()
        _gc.enable()
