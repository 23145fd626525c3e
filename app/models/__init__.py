"""SQLModel tables for the ORM paths (reading jobs, confirm, the sweeper, the outbox): persistence only.

migrations/ create the tables; these classes only describe them. The hot paths (submit, claim
to finish, watched-job re-reads) use plain asyncpg and their own row types in app.repos.
GraphQL types are built from both by app.schema.mapping.
"""

from app.domain import JobStatus  # re-exported for the repos, which imported it from here
from app.models.jobs import ProductRecognitionJob
from app.models.users import User, UserItemAlias

__all__ = ["JobStatus", "ProductRecognitionJob", "User", "UserItemAlias"]
