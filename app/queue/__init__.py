"""Kafka: the job message format, the publisher (API) and the priority consumer (worker)."""
