"""SQLModel tables: persistence only. GraphQL types are built from them in app.schema.mapping."""

from app.models.jobs import JobImage, JobStatus, ProductRecognitionJob
from app.models.users import Plan, User, UserItemAlias

__all__ = ["JobImage", "JobStatus", "Plan", "ProductRecognitionJob", "User", "UserItemAlias"]
