"""What operators see: Prometheus metrics, structured logs carrying ids, optional tracing, a small ops server."""
