"""The SQL of the aggregates other than jobs: users and their aliases, quota windows, barcodes.

Small async functions taking an asyncpg pool or connection first. Jobs have their own store
(app.jobs). Outside these two packages only migrations/, the migration runner and the health
check send SQL.
"""
