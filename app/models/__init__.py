"""SQLModel tables: the tables' reference beside migrations/. Persistence shapes only.

migrations/ create the tables; these classes describe them, and open no connection: every
statement goes through the asyncpg pool (app.db), the job store's (app.jobs) included, which
reads jobs as app.jobs.Job, not as ProductRecognitionJob. `User` is also the row that
app.repos.users returns.
"""

from app.models.jobs import ProductRecognitionJob
from app.models.users import User, UserItemAlias

__all__ = ["ProductRecognitionJob", "User", "UserItemAlias"]
