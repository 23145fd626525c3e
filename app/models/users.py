"""Users and their per-user item aliases (learned from confirmed jobs)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Column, DateTime, text
from sqlmodel import Field, SQLModel


class User(SQLModel, table=True):
    __tablename__ = "users"

    id: uuid.UUID = Field(primary_key=True)
    plan: str = Field(default="free")  # as the column's default (migrations/0001)
    created_at: datetime = Field(
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=text("now()"))
    )


class UserItemAlias(SQLModel, table=True):
    __tablename__ = "user_item_aliases"

    user_id: uuid.UUID = Field(primary_key=True)
    raw_key: str = Field(primary_key=True)
    name: str
    category: str
    unit: str
    updated_at: datetime = Field(
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=text("now()"))
    )
