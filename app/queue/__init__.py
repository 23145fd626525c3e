"""Kafka: the job message format, topic administration, the publisher (the API's outbox and the
worker's sweeper), the priority consumer (worker), and the worker's submit hints from PostgreSQL."""
