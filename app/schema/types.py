"""GraphQL output types, and the domain's enums exposed as GraphQL enums.

Built by app.schema.mapping from job rows and the typed documents of app.domain, never from ORM rows directly.
Each class is named as its GraphQL type; the domain's documents have other names (ResultItem is shown as
RecognizedItem, ImageResult as ImageOutcome, ReceiptFields as ReceiptSummary, ReviewedItem as ConfirmedItem).
"""

from __future__ import annotations

from datetime import datetime

import strawberry

from app.domain import JobStatus, JobType, Plan

# The domain's enums are the GraphQL enums (named as they always were in schema.graphql); these calls
# register them with strawberry, so this module must be imported before a schema is built (it is:
# every resolver returns its types).
strawberry.enum(JobType, name="ProductJobType", description="What the photos show.")
strawberry.enum(
    JobStatus, name="ProductJobStatus",
    description="Where a job is: PENDING -> PROCESSING -> DONE or FAILED, never back.",
)
strawberry.enum(Plan, name="Plan", description="The user's plan; paid jobs are served before free ones.")


@strawberry.type(description="A point on the image, in pixels from its top-left corner.")
class Point:
    x: float
    y: float


@strawberry.type(description="One pantry item read from a job's images.")
class RecognizedItem:
    name: str = strawberry.field(description="Clean display name, in the job's language where known.")
    raw_text: str = strawberry.field(description="The text as read from the image.")
    quantity: float
    unit: str = strawberry.field(description="Canonical unit: pcs, g, kg, ml or l.")
    category: str = strawberry.field(
        description="Stable category code: produce, dairy, meat, fish, bakery, frozen, pantry, beverages, "
        "snacks, household or other."
    )
    confidence: float = strawberry.field(description="0..1")
    image_index: int
    price: float | None = strawberry.field(description="Line total, where read.")
    unit_price: float | None
    storage_days: int | None = strawberry.field(description="Default shelf life, for an expiry date.")
    box: list[Point] | None = strawberry.field(description="Outline of the text on the image.")


@strawberry.type(description="What happened to one image of a job.")
class ImageOutcome:
    index: int
    status: str = strawberry.field(description="done or failed")
    item_count: int
    duration_ms: int
    error: str | None
    note: str | None = strawberry.field(description="Why nothing was found, when nothing was.")


@strawberry.type(description="Fields printed once on a receipt.")
class ReceiptSummary:
    merchant: str | None
    purchased_at: str | None
    currency: str | None
    total: float | None
    total_matches: bool = strawberry.field(description="The item prices add up to the printed total.")
    subtotal: float | None = strawberry.field(default=None, description="The amount before tax, as printed.")
    tax: float | None = strawberry.field(default=None, description="The tax amount, as printed.")
    address: str | None = strawberry.field(default=None, description="The shop's address, as printed.")


@strawberry.type
class RecognitionResult:
    items: list[RecognizedItem]
    images: list[ImageOutcome]
    receipt: ReceiptSummary | None


@strawberry.type(description="An item as the user confirmed it.")
class ConfirmedItem:
    name: str
    quantity: float
    unit: str
    category: str
    raw_text: str | None
    price: float | None


@strawberry.type(description="An asynchronous recognition job over one or more photos.")
class ProductJob:
    id: strawberry.ID
    job_type: JobType
    status: JobStatus
    lang: str
    user_plan: Plan
    image_count: int
    images_done: int = strawberry.field(description="Images finished so far (progress).")
    result: RecognitionResult | None
    error: str | None
    created_at: datetime
    started_at: datetime | None
    completed_at: datetime | None
    confirmed_items: list[ConfirmedItem] | None
    confirmed_at: datetime | None


@strawberry.type
class ProductJobEdge:
    cursor: str
    node: ProductJob


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type(description="A page of the caller's jobs, newest first (Relay cursor connection).")
class ProductJobConnection:
    edges: list[ProductJobEdge]
    page_info: PageInfo


@strawberry.type(description="The caller.")
class Me:
    id: strawberry.ID
    plan: Plan
