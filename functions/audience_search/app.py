"""The main table's DynamoDB stream → the viewers' search index (``livestream.audience_search``).

Invoked by the event source mapping with a batch of participant records (its filter passes only
``PART#`` items). The whole batch is applied or the invocation fails: the mapping retries it (bisecting);
entries are written as final states and the counts keep per-partition sequence marks, so a retry
changes nothing twice.

Round trips per batch: 1 BatchWriteItem per 25 entries (a join or leave: one per prefix of the
viewer's words) + 1 UpdateItem per (prefix, participant partition) whose count changed, all of them 8 at
a time.
"""

from livestream import audience_search, snapstart
from livestream.observability import instrument, logger, metrics


def index_audience(event, context):
    summary = audience_search.apply(event.get("Records") or [])
    metrics.add_metric(name="AudienceSearchEntriesWritten", unit="Count", value=summary["entries"])
    logger.info("audience search index updated", extra=summary)
    return summary


lambda_handler = instrument(index_audience, correlation_id_path=None)
snapstart.register()  # SnapStart only: prime before the snapshot, refresh after restore
