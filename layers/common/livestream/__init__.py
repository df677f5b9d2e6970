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
  models                   pydantic models: the contract in code (loaded only where a body is still validated by pydantic)
  notifications            the Agora notification body (pydantic too)
  store                    DynamoDB access: keys, item codecs, transactions
  media                    thumbnail sniffing and S3 storage
  users, streams           domain logic
"""
