"""What each provider refuses in a request (APNs headers and payloads, FCM and HMS bodies) and
the answers of the failures a test can queue (`fail_next`)."""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from typing import Any

from push.fakes.wire import (
    Rejection,
    Request,
    Response,
    is_int,
    is_uuid,
    json_response,
    json_text,
    now_ms,
)

APNS_MAX_PAYLOAD = 4096

APNS_PUSH_TYPES = frozenset({"alert", "background"})

HMS_CATEGORIES = frozenset(
    [
        "IM",
        "VOIP",
        "SUBSCRIPTION",
        "TRAVEL",
        "HEALTH",
        "WORK",
        "ACCOUNT",
        "EXPRESS",
        "FINANCE",
        "DEVICE_REMINDER",
        "MAIL",
        "PLAY_VOICE",
        "MARKETING",
    ]
)

HMS_MAX_TOKENS = 1000

_DURATION = re.compile(r"^\d+(\.\d+)?s$")

_FCM_TYPES = "type.googleapis.com/google.firebase.fcm.v1"

_FCM_TOP_FIELDS = frozenset({"message", "validate_only", "validateOnly"})

_FCM_MESSAGE_FIELDS = frozenset(
    [
        "name",
        "data",
        "notification",
        "android",
        "webpush",
        "apns",
        "fcm_options",
        "fcmOptions",
        "token",
        "topic",
        "condition",
    ]
)

_FCM_ANDROID_FIELDS = frozenset(
    [
        "collapse_key",
        "collapseKey",
        "priority",
        "ttl",
        "restricted_package_name",
        "restrictedPackageName",
        "data",
        "notification",
        "fcm_options",
        "fcmOptions",
        "direct_boot_ok",
        "directBootOk",
    ]
)

_HMS_TOP_FIELDS = frozenset({"validate_only", "message"})

_HMS_MESSAGE_FIELDS = frozenset({"token", "android", "data", "notification"})


def apns_header_rejection(headers: dict[str, str], topic: str) -> Rejection | None:
    """Check the apns-* headers in the order APNs reports them."""
    apns_id = headers.get("apns-id")
    if apns_id is not None and not is_uuid(apns_id):
        return Rejection(400, "BadMessageId")
    requested_topic = headers.get("apns-topic")
    if not requested_topic:
        return Rejection(400, "MissingTopic")
    if requested_topic != topic:
        return Rejection(400, "TopicDisallowed")
    push_type = headers.get("apns-push-type")
    if push_type not in APNS_PUSH_TYPES:
        return Rejection(400, "InvalidPushType")
    return _apns_delivery_rejection(headers, push_type)


def _apns_delivery_rejection(headers: dict[str, str], push_type: str) -> Rejection | None:
    """Check apns-priority, apns-collapse-id and apns-expiration."""
    priority = headers.get("apns-priority")
    if priority is not None and priority not in ("5", "10"):
        return Rejection(400, "BadPriority")
    if push_type == "background" and priority == "10":
        return Rejection(400, "BadPriority")
    collapse_id = headers.get("apns-collapse-id")
    if collapse_id is not None and len(collapse_id.encode()) > 64:
        return Rejection(400, "BadCollapseId")
    expiration = headers.get("apns-expiration")
    if expiration is not None and not re.fullmatch(r"-?\d+", expiration):
        return Rejection(400, "BadExpirationDate")
    return None


def apns_payload_rejection(request: Request, payload: Any) -> Rejection | None:
    """Check the notification body: present, at most 4096 bytes, a JSON object with `aps`."""
    if not request.body:
        return Rejection(400, "PayloadEmpty")
    if request.too_large or len(request.body) > APNS_MAX_PAYLOAD:
        return Rejection(413, "PayloadTooLarge")
    if not isinstance(payload, dict) or not isinstance(payload.get("aps"), dict):
        return Rejection(400, "BadPayload")
    return None


APNS_FAILURES = {
    "throttled": (429, "TooManyRequests"),
    "unavailable": (503, "ServiceUnavailable"),
    "internal": (500, "InternalServerError"),
    "expired_auth": (403, "ExpiredProviderToken"),
}


def fcm_error(
    status: int,
    grpc_status: str,
    message: str,
    error_code: str | None,
    headers: Sequence[tuple[str, str]] = (),
) -> Response:
    """Build Google's JSON error answer, with an FcmError detail when `error_code` is given."""
    error: dict[str, Any] = {"code": status, "message": message, "status": grpc_status}
    if error_code is not None:
        error["details"] = [
            {
                "@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError",
                "errorCode": error_code,
            }
        ]
    return json_response(status, {"error": error}, headers)


def fcm_invalid(message: str) -> Response:
    """Build FCM's 400 INVALID_ARGUMENT answer."""
    return fcm_error(400, "INVALID_ARGUMENT", message, "INVALID_ARGUMENT")


FCM_FAILURES = {
    "throttled": (
        429,
        "RESOURCE_EXHAUSTED",
        "Quota exceeded for sending messages.",
        "QUOTA_EXCEEDED",
    ),
    "unavailable": (503, "UNAVAILABLE", "The service is currently unavailable.", "UNAVAILABLE"),
    "internal": (500, "INTERNAL", "Internal error encountered.", "INTERNAL"),
}


def _fcm_unknown_field(document: dict[str, Any], allowed: frozenset[str], where: str) -> str | None:
    """Describe the first field of `document` that the FCM schema does not know."""
    for name in document:
        if name not in allowed:
            at = f" at '{where}'" if where else ""
            return f'Invalid JSON payload received. Unknown name "{name}"{at}: Cannot find field.'
    return None


def _fcm_string_map_problem(value: Any, where: str) -> str | None:
    """Check that a map field (such as `data`) is an object of strings."""
    if value is None:
        return None
    if not isinstance(value, dict):
        return f"Invalid value at '{where}' (type.googleapis.com/google.protobuf.Struct)"
    for index, item in enumerate(value.values()):
        if not isinstance(item, str):
            return f"Invalid value at '{where}[{index}].value' (TYPE_STRING), {json_text(item)}"
    return None


def _fcm_android_problem(android: Any) -> str | None:
    """Check `message.android`: known fields, a Duration `ttl`, a priority, string data."""
    if android is None:
        return None
    if not isinstance(android, dict):
        return f"Invalid value at 'message.android' ({_FCM_TYPES}.AndroidConfig)"
    unknown = _fcm_unknown_field(android, _FCM_ANDROID_FIELDS, "message.android")
    if unknown:
        return unknown
    ttl = android.get("ttl")
    if ttl is not None and not (isinstance(ttl, str) and _DURATION.match(ttl)):
        where = "'message.android.ttl' (type.googleapis.com/google.protobuf.Duration)"
        return f"Invalid value at {where}, {json_text(ttl)}"
    priority = android.get("priority")
    if priority is not None and not (
        isinstance(priority, str) and priority.lower() in ("normal", "high")
    ):
        where = f"'message.android.priority' ({_FCM_TYPES}.AndroidMessagePriority)"
        return f"Invalid value at {where}, {json_text(priority)}"
    return _fcm_string_map_problem(android.get("data"), "message.android.data")


def _fcm_apns_problem(apns: Any) -> str | None:
    """Check `message.apns`: an object whose headers are strings and whose payload is an object."""
    if apns is None:
        return None
    if not isinstance(apns, dict):
        return f"Invalid value at 'message.apns' ({_FCM_TYPES}.ApnsConfig)"
    problem = _fcm_string_map_problem(apns.get("headers"), "message.apns.headers")
    if problem:
        return problem
    payload = apns.get("payload")
    if payload is not None and not isinstance(payload, dict):
        return (
            "Invalid value at 'message.apns.payload' (type.googleapis.com/google.protobuf.Struct)"
        )
    return None


def _fcm_message_problem(message: Any) -> str | None:
    """Check `message`: known fields, a token, string data and valid platform blocks."""
    if not isinstance(message, dict):
        return "Request contains an invalid argument."
    unknown = _fcm_unknown_field(message, _FCM_MESSAGE_FIELDS, "message")
    if unknown:
        return unknown
    token = message.get("token")
    if not isinstance(token, str) or not token:
        return "Request contains an invalid argument."
    return (
        _fcm_string_map_problem(message.get("data"), "message.data")
        or _fcm_android_problem(message.get("android"))
        or _fcm_apns_problem(message.get("apns"))
    )


def fcm_body_problem(payload: Any) -> str | None:
    """Check a send request body; return Google's message for the first problem, or None."""
    if not isinstance(payload, dict):
        return "Invalid JSON payload received. Expected an object."
    unknown = _fcm_unknown_field(payload, _FCM_TOP_FIELDS, "")
    if unknown:
        return unknown
    validate_only = payload.get("validate_only", payload.get("validateOnly", False))
    if not isinstance(validate_only, bool):
        return f"Invalid value at 'validate_only' (TYPE_BOOL), {json_text(validate_only)}"
    return _fcm_message_problem(payload.get("message"))


def _hms_android_problem(android: Any) -> str | None:
    """Check `message.android`: category, collapse_key, ttl and urgency."""
    if android is None:
        return None
    if not isinstance(android, dict):
        return "message.android is not an object"
    category = android.get("category")
    if category is not None and category not in HMS_CATEGORIES:
        return f"message.android.category {category!r} is not allowed"
    collapse_key = android.get("collapse_key")
    if collapse_key is not None and not (is_int(collapse_key) and -1 <= collapse_key <= 100):
        return "message.android.collapse_key must be an integer from -1 to 100"
    ttl = android.get("ttl")
    if ttl is not None and not (isinstance(ttl, str) and _DURATION.match(ttl)):
        return "message.android.ttl must look like 86400s"
    urgency = android.get("urgency")
    if urgency is not None and urgency not in ("HIGH", "NORMAL"):
        return "message.android.urgency must be HIGH or NORMAL"
    return None


def _hms_tokens_problem(tokens: Any) -> str | None:
    """Check `message.token`: a list of 1 to 1000 non-empty strings."""
    if not isinstance(tokens, list) or not 1 <= len(tokens) <= HMS_MAX_TOKENS:
        return "message.token must be a list of 1 to 1000 tokens"
    if not all(isinstance(token, str) and token for token in tokens):
        return "message.token must hold non-empty strings"
    return None


def _hms_message_problem(message: Any) -> str | None:
    """Check `message`: tokens, a string `data`, an object `notification`, `android`."""
    if not isinstance(message, dict):
        return "message is not an object"
    unknown = next((name for name in message if name not in _HMS_MESSAGE_FIELDS), None)
    if unknown is not None:
        return f"message.{unknown} is not a known field"
    data = message.get("data")
    if data is not None and not isinstance(data, str):
        return "message.data must be a string"
    notification = message.get("notification")
    if notification is not None and not isinstance(notification, dict):
        return "message.notification must be an object"
    return _hms_tokens_problem(message.get("token")) or _hms_android_problem(message.get("android"))


def hms_body_problem(payload: Any) -> str | None:
    """Check a Push Kit send body; return a description of the first problem, or None."""
    if not isinstance(payload, dict):
        return "body is not a JSON object"
    unknown = next((name for name in payload if name not in _HMS_TOP_FIELDS), None)
    if unknown is not None:
        return f"{unknown} is not a known field"
    if not isinstance(payload.get("validate_only", False), bool):
        return "validate_only must be a boolean"
    return _hms_message_problem(payload.get("message"))


def hms_answer(
    status: int, code: str, msg: str, headers: Sequence[tuple[str, str]] = ()
) -> Response:
    """Build Push Kit's `{"code", "msg", "requestId"}` answer."""
    request_id = f"{now_ms()}{secrets.randbelow(10**11):011d}"
    return json_response(status, {"code": code, "msg": msg, "requestId": request_id}, headers)


HMS_FAILURES = {
    "throttled": (429, "80300011", "Flow control"),
    "unavailable": (503, "81000001", "System inner error"),
    "internal": (500, "81000001", "System inner error"),
    "expired_auth": (401, "80200003", "OAuth token expired."),
}
