"""pydantic models of meetergo's wire shapes.

Every model keeps unknown fields (`extra="allow"`): the API adds fields without notice and
the raw JSON travels with each record anyway, so nothing is silently dropped. Timestamps
arrive with `Z` or an offset (`+01:00`) and become aware UTC datetimes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal, NotRequired

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from typing_extensions import TypedDict

from meetergo_pipeline.client.errors import MeetergoResponseShapeError
from meetergo_pipeline.client.paging import Page


def parse_utc(value: Any) -> datetime | None:
    """An API timestamp as an aware UTC datetime (naive values are taken as UTC)."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        parsed = value
    else:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def to_api_time(value: datetime) -> str:
    """A datetime as the API writes them: UTC, milliseconds, `Z`."""
    utc = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def _to_utc(value: datetime) -> datetime:
    return parse_utc(value)  # type: ignore[return-value]


UtcDatetime = Annotated[datetime, AfterValidator(_to_utc)]


class RowKeys(TypedDict):
    """The fields paging needs from a listed row. Decoding a page into these skips every
    other field without building Python objects for it; the warehouse takes the payloads
    from the raw body instead (docs/performance.md)."""

    id: str
    createdAt: NotRequired[str | None]


class _UsersPageKeys(TypedDict):
    users: list[RowKeys]
    total: NotRequired[int | None]


class _AppointmentsPageKeys(TypedDict):
    appointments: list[RowKeys]
    total: NotRequired[int | None]


_PAGE_KEYS: dict[str | None, TypeAdapter[Any]] = {
    None: TypeAdapter(list[RowKeys]),
    "users": TypeAdapter(_UsersPageKeys),
    "appointments": TypeAdapter(_AppointmentsPageKeys),
}


def decode_page(body: bytes, rows_key: str | None) -> Page:
    """A listing page from its response body: `{rows_key: [...], total}` or a bare array.

    Raises ValueError on a body that is not JSON (truncated: the request is retried) and
    MeetergoResponseShapeError on JSON without the fields paging needs.
    """
    try:
        document = _PAGE_KEYS[rows_key].validate_json(body)
    except ValidationError as exc:
        problems = [e for e in exc.errors(include_input=False) if e["type"] != "json_invalid"]
        if not problems:
            raise ValueError("response body is not valid JSON") from None
        where = ".".join(str(part) for part in problems[0]["loc"])
        raise MeetergoResponseShapeError(
            f"unexpected response shape at `{where}`: {problems[0]['msg']} "
            f"(expected {'a JSON array' if rows_key is None else repr(rows_key)} of rows "
            "with string `id`s)"
        ) from None
    if rows_key is None:
        rows, total = document, None
    else:
        rows, total = document[rows_key], document.get("total")
    return Page(
        body=body,
        rows_key=rows_key,
        ids=[row["id"] for row in rows],
        created_at=[row.get("createdAt") for row in rows],
        total=total,
    )


class WireModel(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class User(WireModel):
    id: str
    email: str | None = None
    given_name: str | None = Field(None, alias="givenName")
    family_name: str | None = Field(None, alias="familyName")
    full_name: str | None = Field(None, alias="fullName")
    timezone: str | None = None
    language: str | None = None
    user_type: str | None = Field(None, alias="userType")
    is_admin: bool = Field(False, alias="isAdmin")
    company_id: str | None = Field(None, alias="companyId")
    created_at: UtcDatetime | None = Field(None, alias="createdAt")
    updated_at: UtcDatetime | None = Field(None, alias="updatedAt")
    deleted_at: UtcDatetime | None = Field(None, alias="deletedAt")


class MeetingInfo(WireModel):
    name: str | None = None
    description: str | None = None
    duration: int | None = None
    channel: str | None = None


class MeetingType(WireModel):
    id: str
    slug: str | None = None
    user_id: str | None = Field(None, alias="userId")
    queue_id: str | None = Field(None, alias="queueId")
    spots: int | None = None
    enabled: bool | None = None
    company_id: str | None = Field(None, alias="companyId")
    created_at: UtcDatetime | None = Field(None, alias="createdAt")
    meeting_info: MeetingInfo | None = Field(None, alias="meetingInfo")


class Host(WireModel):
    id: str
    email: str | None = None
    full_name: str | None = Field(None, alias="fullName")


class Attendee(WireModel):
    """Attendee names are lower-case on the wire (`firstname`, not `firstName`)."""

    id: str | None = None
    email: str | None = None
    firstname: str | None = None
    lastname: str | None = None
    fullname: str | None = None
    timezone: str | None = None


class Cancellation(WireModel):
    action_source: str | None = Field(None, alias="actionSource")
    action_at: UtcDatetime | None = Field(None, alias="actionAt")
    action_by: str | None = Field(None, alias="actionBy")
    reason: str | None = None


class HostingInfo(WireModel):
    main_host: str | None = Field(None, alias="mainHost")


class Appointment(WireModel):
    id: str
    start: UtcDatetime
    end: UtcDatetime | None = None
    meeting_type_id: str | None = Field(None, alias="meetingTypeId")
    meeting_info: MeetingInfo | None = Field(None, alias="meetingInfo")
    hosting_info: HostingInfo | None = Field(None, alias="hostingInfo")
    hosts: list[Host] = Field(default_factory=list)
    host_ids: list[str] = Field(default_factory=list, alias="hostIds")
    attendees: list[Attendee] = Field(default_factory=list)
    company_id: str | None = Field(None, alias="companyId")
    created_at: UtcDatetime | None = Field(None, alias="createdAt")
    updated_at: UtcDatetime | None = Field(None, alias="updatedAt")
    cancel: Cancellation | None = None
    is_cancelled: bool = Field(False, alias="isCancelled")
    rescheduled_at: UtcDatetime | None = Field(None, alias="rescheduledAt")
    reschedule_count: int = Field(0, alias="rescheduleCount")

    @property
    def status(self) -> Literal["confirmed", "cancelled"]:
        """meetergo has no status field; its own client derives it this way."""
        cancelled = self.is_cancelled or (self.cancel is not None and self.cancel.action_at)
        return "cancelled" if cancelled else "confirmed"

    @property
    def host_user_id(self) -> str | None:
        if self.hosting_info and self.hosting_info.main_host:
            return self.hosting_info.main_host
        return self.host_ids[0] if self.host_ids else None


class BookingCreated(WireModel):
    """`POST /v4/booking` answers with an appointment, or a pending provisional booking."""

    appointment_id: str | None = Field(None, alias="appointmentId")
    secret: str | None = None
    booking_type: str | None = Field(None, alias="bookingType")
    provisional_booking_id: str | None = Field(None, alias="provisionalBookingId")


class UserCreated(WireModel):
    user_id: str = Field(alias="userId")
    availability_id: str | None = Field(None, alias="availabilityId")
    meeting_type_id: str | None = Field(None, alias="meetingTypeId")
    booking_url: str | None = Field(None, alias="bookingUrl")
    company_id: str | None = Field(None, alias="companyId")
