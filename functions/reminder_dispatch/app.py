"""Scheduled every minute (EventBridge): sends the reminders of streams starting within the lead
time (REMINDER_LEAD_MINUTES, default 15) to the FIFO reminder queue, each exactly once.

DynamoDB: DueIndex queries (one partition a day, the days at once), then per due stream a claim, consistent queries of
its unsent reminders, one TransactWriteItems per 10 reminders (each marked sent, the batch recorded as
in flight) and a final write; SQS: one SendMessageBatch per 10. A stream whose dependencies throttle or
fail is left to the next run (``failed``), which sends exactly what was not sent.
"""

from livestream import reminders, snapstart
from livestream.observability import instrument, logger, metrics


def dispatch(event, context):
    result = reminders.dispatch(time_left_ms=context.get_remaining_time_in_millis)
    metrics.add_metric(name="RemindersSent", unit="Count", value=result["sent"])
    metrics.add_metric(name="ReminderStreamsFailed", unit="Count", value=result["failed"])
    logger.info("reminders dispatched", extra=result)
    return result


lambda_handler = instrument(dispatch, correlation_id_path=None)
snapstart.register(clients=("sqs",))  # SnapStart only: prime before the snapshot, refresh after restore
