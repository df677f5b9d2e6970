"""The main table's DynamoDB stream → lifecycle events on the EventBridge bus (``livestream.events_out``).

Invoked by the event source mapping with a batch of stream records (only stream items pass its filter);
answers a partial batch response (Powertools' batch utility): the mapping checkpoints before the first
failed record and retries from it, bisecting, then sends the batch's metadata to the on-failure queue.
Records are handled in order, and once one fails the rest of the batch fails with it, so no event of a
stream ever goes out ahead of an earlier one that has not.

Round trips per record: 0–1 DynamoDB UpdateItem (audience throttle) and 0–1 PutEvents (+ retries).
"""

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBStreamEvent

from livestream import events_out, snapstart
from livestream.observability import instrument, logger, metrics

processor = BatchProcessor(event_type=EventType.DynamoDBStreams)


class EarlierRecordFailed(Exception):
    """A record after a failed one: retried with it, so the events keep their order."""


def publish_stream_events(event, context):
    batch = events_out.Batch([events_out.stream_change(r) for r in DynamoDBStreamEvent(event).records])

    def record_handler(record):
        if batch.failed:
            raise EarlierRecordFailed(record.dynamodb.sequence_number)
        change = events_out.stream_change(record)
        if change is None:
            return []
        try:
            published = events_out.handle(change, batch)
        except Exception:
            batch.failed = True
            raise
        for kind in published:
            metrics.add_metric(name="EventsPublished", unit="Count", value=1)
            logger.info("event published", extra={"detailType": kind, "streamId": change.stream_id})
        return published

    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)


lambda_handler = instrument(publish_stream_events, correlation_id_path=None)
snapstart.register()  # SnapStart only: prime before the snapshot, refresh after restore
