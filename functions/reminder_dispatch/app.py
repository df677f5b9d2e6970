"""Scheduled every minute (EventBridge): sends the reminders of streams starting within the lead
time (REMINDER_LEAD_MINUTES, default 15) to the FIFO reminder queue, each exactly once.

DynamoDB: DueIndex queries (one partition a day), then per due stream a claim, consistent queries of
its reminders and one cursor write per 10 reminders sent; SQS: one SendMessageBatch per 10.
"""

from livestream import reminders, snapstart
from livestream.observability import instrument, logger, metrics


def dispatch(event, context):
    result = reminders.dispatch(time_left_ms=context.get_remaining_time_in_millis)
    metrics.add_metric(name="RemindersSent", unit="Count", value=result["sent"])
    logger.info("reminders dispatched", extra=result)
    return result


lambda_handler = instrument(dispatch, correlation_id_path=None)
snapstart.register(clients=("sqs",))  # SnapStart only: prime before the snapshot, refresh after restore
