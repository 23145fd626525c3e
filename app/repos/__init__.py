"""The only place that builds SQL: small async functions taking the session first."""
