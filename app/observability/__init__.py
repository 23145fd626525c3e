"""What operators see: Prometheus metrics, structured logs carrying ids, optional OpenTelemetry traces,
and a small ops server (/metrics, /healthz, /readyz) for the worker, which has no web app."""
