"""Scheduled every minute (EventBridge): removes viewers whose presence deadline passed (no token
renewal, no confirming Agora event for the token lifetime plus the grace period), as a leave would.

DynamoDB: 1 GetItem (cursor), ExpiryIndex queries (one per shard of each minute since the cursor, a
minute's shards at once, reading only expired entries), one UpdateItem per removed viewer (up to 8 at
once), 1 UpdateItem (cursor).
"""

from livestream import presence_sweep, snapstart
from livestream.observability import instrument, metrics


def sweep(event, context):
    result = presence_sweep.sweep(time_left_ms=context.get_remaining_time_in_millis)
    metrics.add_metric(name="StaleViewersRemoved", unit="Count", value=result["removed"])
    return result


lambda_handler = instrument(sweep, correlation_id_path=None)
snapstart.register()  # SnapStart only: prime before the snapshot, refresh after restore
