"""RFC 9457 problem details: the one error shape of the API."""

from __future__ import annotations

import msgspec


class FieldError(msgspec.Struct, kw_only=True):
    """One invalid field of a request body, located by a JSON path such as `$.device.platform`."""

    path: str
    message: str


class Problem(msgspec.Struct, kw_only=True, omit_defaults=True):
    """An error answer (`application/problem+json`); `code` is stable and machine-readable."""

    type: str = "about:blank"
    title: str
    status: int
    code: str
    detail: str | None = None
    instance: str | None = None
    request_id: str | None = None
    errors: list[FieldError] | None = None
    retry_after: int | None = None
    min_app_version: str | None = None
    wipe: bool | None = None
    current_status: str | None = None
    reason: str | None = None  # why an offline package was refused (`package.unsafe`)
    # `survey.answers_invalid`: the messages of `errors` by question key, as the staff inbox
    # answered them in `errors` before it followed the FieldError list every 422 has.
    answer_errors: dict[str, str] | None = None
