"""Kafka topic administration shared by the app and the embedded broker."""

from __future__ import annotations

from collections.abc import Sequence

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import for_code

_TOPIC_ALREADY_EXISTS = 36


async def ensure_topics(bootstrap_servers: str, topics: Sequence[str], partitions: int) -> None:
    """Create each missing topic with `partitions` partitions (replication 1); existing ones are
    left as they are. Idempotent and safe against concurrent creators."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        missing = sorted(set(topics) - set(await admin.list_topics()))
        if missing:
            response = await admin.create_topics([NewTopic(t, partitions, 1) for t in missing])
            _raise_topic_errors(response.to_object()["topic_errors"])
    finally:
        await admin.close()


def _raise_topic_errors(results: list[dict[str, object]]) -> None:
    for result in results:
        code = int(str(result["error_code"]))
        if code not in (0, _TOPIC_ALREADY_EXISTS):
            raise for_code(code)(f"creating topic {result['topic']}: {result.get('error_message')}")

