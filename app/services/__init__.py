"""Use cases: submit (the mutations' photos, their checks and policies, the stored job; quotas, the outbox
relay), reading and watching jobs, confirm, processing a job the worker
claimed (recognize, enrich, finish) and the sweeper.

Each state change commits as one transaction; errors meant for the client are in app.errors.
"""
