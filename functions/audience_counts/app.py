"""The main table's DynamoDB stream → the streams' audience counters (``livestream.aggregator``).

Invoked by the event source mapping with a batch of participant records (its filter passes only
``PART#`` items). The whole batch is counted or the invocation fails: the mapping retries it (bisecting),
and the per-partition sequence marks stored with the counters make a retry count nothing twice.

Round trips per stream in the batch: 1 GetItem + 1 UpdateItem of the stream item.
"""

from livestream import aggregator, snapstart
from livestream.observability import instrument, logger, metrics


def count_audience(event, context):
    summary = aggregator.apply(event.get("Records") or [])
    metrics.add_metric(name="AudienceChangesCounted", unit="Count", value=summary["counted"])
    if summary["duplicates"]:
        metrics.add_metric(name="AudienceChangesAlreadyCounted", unit="Count", value=summary["duplicates"])
    logger.info("audience counted", extra=summary)
    return summary


lambda_handler = instrument(count_audience, correlation_id_path=None)
snapstart.register()  # SnapStart only: prime before the snapshot, refresh after restore
