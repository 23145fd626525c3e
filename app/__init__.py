"""foodai: receipt and grocery photos -> pantry items, through a GraphQL API and a Kafka-fed worker.

docs/architecture.md follows a job through the packages below.
"""
