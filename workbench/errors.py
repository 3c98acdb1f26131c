"""Domain errors: each carries its HTTP status and stable problem code."""

from __future__ import annotations

from typing import Any, ClassVar


class DomainError(Exception):
    """Base of every error a service raises on purpose; mapped to problem+json in one place."""

    status: ClassVar[int] = 400
    code: str = "request.invalid"
    title: ClassVar[str] = "Bad request"
    # True when the transaction must still commit (e.g. recording a lockout or a revoked family).
    commit_changes: ClassVar[bool] = False

    def __init__(self, detail: str | None = None, **extra: Any) -> None:
        super().__init__(detail or self.title)
        self.detail = detail
        self.extra = extra
        self.headers: dict[str, str] = {}


class NotFound(DomainError):
    """The object does not exist or the caller may not see it (indistinguishable on purpose)."""

    status, title = 404, "Not found"

    def __init__(self, what: str = "resource", detail: str | None = None) -> None:
        """`detail`: what was looked for, where the request named no id (default: by its id)."""
        super().__init__(detail or f"No {what} with that id")
        self.code = f"{what}.not_found"


class Conflict(DomainError):
    status, code, title = 409, "conflict", "Conflict"


class Forbidden(DomainError):
    status, code, title = 403, "auth.forbidden", "Forbidden"


class Unauthorized(DomainError):
    status, code, title = 401, "auth.unauthorized", "Authentication required"


class InvalidToken(Unauthorized):
    code, title = "auth.invalid_token", "Invalid or expired token"


class InvalidCredentials(Unauthorized):
    code, title = "auth.invalid_credentials", "Wrong login or password"


class RefreshTokenReused(Unauthorized):
    code, title = "auth.refresh_reused", "Refresh token already used; the session is ended"
    commit_changes = True


class SessionEnded(Unauthorized):
    code, title = "auth.session_ended", "This session has ended; sign in again"


class DeviceRevoked(Forbidden):
    code, title = "auth.device_revoked", "This device was revoked; wipe local data"


class DeviceInUse(Conflict):
    code, title = "auth.device_in_use", "This device is signed in as someone else"


class RateLimited(DomainError):
    status, code, title = 429, "auth.rate_limited", "Too many attempts"

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"Try again in {retry_after} seconds", retry_after=retry_after)
        self.headers = {"Retry-After": str(retry_after)}


class ServiceUnavailable(DomainError):
    status, code, title = 503, "service.unavailable", "A backing service is unavailable"
    retry_after_seconds: ClassVar[int] = 5  # an app retries; a customer page says "shortly"

    def __init__(self, detail: str | None = None, **extra: Any) -> None:
        super().__init__(detail, **extra)
        self.headers = {"Retry-After": str(self.retry_after_seconds)}


class UpgradeRequired(DomainError):
    status, code, title = 426, "app.upgrade_required", "Please update the app"
