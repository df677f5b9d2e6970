"""The idempotency table, as the Powertools idempotency utility keeps it (its own table, its own keys)."""

from __future__ import annotations

from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

from livestream import store


def persistence_layer(table_name: str) -> DynamoDBPersistenceLayer:
    """The utility's persistence layer on the layer's DynamoDB client (botocore's, ``livestream.aws``):
    one session, one endpoint resolver, one service model per container."""
    return DynamoDBPersistenceLayer(table_name=table_name, boto3_client=store.client())
