"""What operators see: Prometheus metrics, structured logs carrying ids, a small ops server for the worker."""
