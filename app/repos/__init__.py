"""The SQL of jobs, users and barcodes: small async functions taking their connection first.

The ORM paths pass a session (jobs, users); the hot paths pass an asyncpg connection or pool
(submissions, transitions, watched_jobs, barcodes). Outside this package only migrations/, the
migration runner and the health and keepalive checks send SQL.
"""
