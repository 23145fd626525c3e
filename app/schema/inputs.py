"""GraphQL inputs."""

from __future__ import annotations

import strawberry
from strawberry.file_uploads import Upload


@strawberry.input(one_of=True, description="One image: standard base64 of the file, or a multipart upload.")
class ImageInput:
    base64: str | None = strawberry.UNSET
    upload: Upload | None = strawberry.UNSET


@strawberry.input(description="An item as the user reviewed it.")
class ConfirmedItemInput:
    name: str
    quantity: float
    unit: str
    category: str
    raw_text: str | None = strawberry.field(
        default=None, description="The recognized line this corrects; it becomes the user's alias."
    )
    price: float | None = None
