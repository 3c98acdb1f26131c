"""A local fake of APNs, FCM HTTP v1 and Huawei HMS Push Kit for tests and benchmarks.

`FakePushServer` is one asyncio HTTP/2 server (cleartext, prior knowledge h2c, built directly on
`h2.connection.H2Connection`) that answers all the provider APIs, routed by method and path:

- APNs: `POST /3/device/{device_token}`
- Google OAuth token endpoint: `POST /token` (the service account's `token_uri`)
- FCM HTTP v1: `POST /v1/projects/{project_id}/messages:send`
- Huawei OAuth: `POST /oauth2/v3/token`
- HMS Push Kit: `POST /v1/{app_id}/messages:send`
- control, for out-of-process use: `GET /_fake/stats`, `GET /_fake/arrivals` (when each accepted
  push arrived, with its notification id) and `POST /_fake/latency`

Each stream is answered by its own task, which waits `latency` seconds (push endpoints only; the
token and control endpoints answer at once) and then answers, so one connection carries many
concurrent pushes (the fake advertises SETTINGS_MAX_CONCURRENT_STREAMS = 1000).

`FakeCredentials.generate(folder)` writes the files a real deployment would hold: an APNs
`AuthKey_<KEYID>.p8`, a Google `service-account.json` and the HMS app id and secret. Because the
port is known only after the server starts, `FakePushServer.start()` rewrites the `token_uri` of
the service-account file to `<base_url>/token`; read the file after `start()`. (`generate` writes
a placeholder, or the `token_uri` you pass it.) `generate` also writes `fake-credentials.json`,
from which `FakeCredentials.load(folder)` reads the same credentials back.

Choices the fake makes where the real services give no exact answer:

- APNs has no reason for a body that is not a JSON object with an `aps` object; the fake answers
  400 `BadPayload` (and 400 `PayloadEmpty` for an empty body).
- APNs accepts only the push types `alert` and `background`; a missing `apns-push-type` is
  400 `InvalidPushType`, and so is any other type. A background push with `apns-priority: 10` is
  400 `BadPriority`.
- `expire_auth("apns")` expires every provider JWT seen so far and every JWT whose `iat` is
  earlier than the current second, so a JWT minted right after the call is accepted.
- HMS throttling is answered with HTTP 429, code `80300011`, msg "Flow control"; this code is the
  fake's choice, not a documented Huawei value.
- A queued `fail_next` answer is given right after authentication succeeds, before the request
  itself is validated (a throttled or unavailable service does not look at the payload).
- A request with `validate_only: true` (FCM and HMS) is validated and answered but not delivered,
  so it does not appear in `sent`.
- Beyond the obvious, the fake also answers APNs 400 `MissingDeviceToken` (empty token) and
  `BadMessageId` (an `apns-id` that is not a UUID); FCM 400 for unknown fields in the request, in
  `message` and in `message.android`, for a bad `android.priority` and for non-string
  `apns.headers`; HMS 80100003 for unknown fields. Google's token endpoint names the failed
  check in `error_description` (signature, audience, lifetime) and answers `invalid_scope`
  without the firebase.messaging scope.

`python -m push.fakes --port 8443 --latency 0.02 --credentials DIR` serves in the foreground with
`record=False`, printing one JSON line (`base_url`, token endpoints, credentials) once ready.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import logging
import os
import re
import secrets
import signal
import string
import time
import urllib.parse
import uuid
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, NamedTuple

import jwt
import msgspec
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from h2.config import H2Configuration
from h2.connection import H2Connection
from h2.events import (
    ConnectionTerminated,
    DataReceived,
    Event,
    RequestReceived,
    StreamEnded,
    StreamReset,
    WindowUpdated,
)
from h2.exceptions import ProtocolError
from h2.settings import SettingCodes, Settings

log = logging.getLogger("push.fakes")

PROVIDERS = ("apns", "fcm", "hms")
FAILURE_KINDS = ("throttled", "unavailable", "internal", "expired_auth")

APNS_TOPIC = "com.example.workbench"
APNS_MAX_PAYLOAD = 4096
APNS_JWT_LIFETIME = 3600
APNS_PUSH_TYPES = frozenset({"alert", "background"})

FCM_SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
PLACEHOLDER_TOKEN_URI = "http://127.0.0.1:0/token"  # noqa: S105 - an address, not a secret
FCM_UNAUTHENTICATED = (
    "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie "
    "or other valid authentication credential."
)

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

MANIFEST_NAME = "fake-credentials.json"
SERVICE_ACCOUNT_NAME = "service-account.json"

# Request bodies beyond this are not kept (the request is answered 413).
_MAX_BUFFERED_BODY = 1 << 20
# Streams one connection may carry at once; the benchmark keeps hundreds in flight.
_MAX_CONCURRENT_STREAMS = 1000
# Extra connection-level receive window, so concurrent request bodies never stall.
_CONNECTION_WINDOW_BOOST = (1 << 24) - 65535

_DURATION = re.compile(r"^\d+(\.\d+)?s$")
_APNS_PATH = re.compile(r"^/3/device/(?P<token>[^/]*)$")
_FCM_PATH = re.compile(r"^/v1/projects/(?P<project>[^/]+)/messages:send$")
_HMS_PATH = re.compile(r"^/v1/(?P<app>[^/]+)/messages:send$")
_ID_ALPHABET = string.ascii_uppercase + string.digits
_JSON_TYPE = ("content-type", "application/json; charset=UTF-8")
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


# --------------------------------------------------------------------------------------------
# Credentials


def _random_id(length: int = 10) -> str:
    """Return `length` random upper-case letters and digits, like Apple's key and team ids."""
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(length))


def _write_private(path: Path, data: bytes) -> None:
    """Write a secret file readable by its owner only."""
    path.write_bytes(data)
    path.chmod(0o600)


def _write_json_atomically(path: Path, document: Any) -> None:
    """Replace `path` with `document` as indented JSON, never leaving a half-written file."""
    scratch = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    _write_private(scratch, msgspec.json.format(msgspec.json.encode(document), indent=2))
    os.replace(scratch, path)


def _pkcs8_pem(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> bytes:
    """Serialise a private key as an unencrypted PKCS#8 PEM."""
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _ec_public_key(pem: bytes) -> ec.EllipticCurvePublicKey:
    """Return the public half of an EC private key PEM (the APNs .p8 file)."""
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError("the APNs key file does not hold an EC private key")
    return key.public_key()


def _rsa_public_key(pem: bytes) -> rsa.RSAPublicKey:
    """Return the public half of an RSA private key PEM (the service account's key)."""
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("the service account does not hold an RSA private key")
    return key.public_key()


def _service_account(project_id: str, key_id: str, pem: bytes, token_uri: str) -> dict[str, str]:
    """Build a Google service-account document with the fields Google puts in one."""
    client_id = str(secrets.randbelow(10**20) + 10**20)
    email = f"push@{project_id}.iam.gserviceaccount.com"
    return {
        "type": "service_account",
        "project_id": project_id,
        "private_key_id": key_id,
        "private_key": pem.decode("ascii"),
        "client_email": email,
        "client_id": client_id,
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": token_uri,
        "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
        "client_x509_cert_url": "https://www.googleapis.com/robot/v1/metadata/x509/"
        + urllib.parse.quote(email),
        "universe_domain": "googleapis.com",
    }


@dataclass(frozen=True, slots=True)
class FakeCredentials:
    """Everything the fake and the provider clients share: key files, ids and secrets."""

    folder: Path
    apns_key_file: Path
    apns_key_id: str
    apns_team_id: str
    apns_topic: str
    fcm_service_account_file: Path
    fcm_project_id: str
    fcm_client_email: str
    fcm_private_key_id: str
    hms_app_id: str
    hms_client_secret: str

    @classmethod
    def generate(cls, folder: Path, *, token_uri: str = PLACEHOLDER_TOKEN_URI) -> FakeCredentials:
        """Mint fresh keys and ids and write the key files and a manifest into `folder`.

        The service account's `token_uri` is `token_uri` until a `FakePushServer` using these
        credentials starts, which rewrites it to `<base_url>/token`.
        """
        folder.mkdir(parents=True, exist_ok=True)
        key_id = _random_id()
        apns_key_file = folder / f"AuthKey_{key_id}.p8"
        _write_private(apns_key_file, _pkcs8_pem(ec.generate_private_key(ec.SECP256R1())))
        project_id = f"rm-workbench-{secrets.token_hex(3)}"
        private_key_id = secrets.token_hex(20)
        rsa_pem = _pkcs8_pem(rsa.generate_private_key(public_exponent=65537, key_size=2048))
        account = _service_account(project_id, private_key_id, rsa_pem, token_uri)
        account_file = folder / SERVICE_ACCOUNT_NAME
        _write_json_atomically(account_file, account)
        credentials = cls(
            folder=folder,
            apns_key_file=apns_key_file,
            apns_key_id=key_id,
            apns_team_id=_random_id(),
            apns_topic=APNS_TOPIC,
            fcm_service_account_file=account_file,
            fcm_project_id=project_id,
            fcm_client_email=account["client_email"],
            fcm_private_key_id=private_key_id,
            hms_app_id=str(100000000 + secrets.randbelow(900000000)),
            hms_client_secret=secrets.token_hex(32),
        )
        _write_json_atomically(folder / MANIFEST_NAME, credentials.manifest())
        return credentials

    @classmethod
    def load(cls, folder: Path) -> FakeCredentials:
        """Read back credentials that `generate` wrote into `folder`."""
        manifest = msgspec.json.decode((folder / MANIFEST_NAME).read_bytes())
        return cls(
            folder=folder,
            apns_key_file=folder / manifest["apns_key_file"],
            apns_key_id=manifest["apns_key_id"],
            apns_team_id=manifest["apns_team_id"],
            apns_topic=manifest["apns_topic"],
            fcm_service_account_file=folder / manifest["fcm_service_account_file"],
            fcm_project_id=manifest["fcm_project_id"],
            fcm_client_email=manifest["fcm_client_email"],
            fcm_private_key_id=manifest["fcm_private_key_id"],
            hms_app_id=manifest["hms_app_id"],
            hms_client_secret=manifest["hms_client_secret"],
        )

    @classmethod
    def load_or_generate(cls, folder: Path) -> FakeCredentials:
        """Load the credentials in `folder`, generating them first if there are none."""
        if (folder / MANIFEST_NAME).exists():
            return cls.load(folder)
        return cls.generate(folder)

    def manifest(self) -> dict[str, str]:
        """Return the ids and secrets, with file names relative to `folder`."""
        return {
            "apns_key_file": self.apns_key_file.name,
            "apns_key_id": self.apns_key_id,
            "apns_team_id": self.apns_team_id,
            "apns_topic": self.apns_topic,
            "fcm_service_account_file": self.fcm_service_account_file.name,
            "fcm_project_id": self.fcm_project_id,
            "fcm_client_email": self.fcm_client_email,
            "fcm_private_key_id": self.fcm_private_key_id,
            "hms_app_id": self.hms_app_id,
            "hms_client_secret": self.hms_client_secret,
        }

    def describe(self) -> dict[str, str]:
        """Return the ids and secrets with absolute file paths, for printing."""
        described = self.manifest()
        described["apns_key_file"] = str(self.apns_key_file.resolve())
        described["fcm_service_account_file"] = str(self.fcm_service_account_file.resolve())
        return described

    def apns_private_key_pem(self) -> bytes:
        """Return the APNs signing key (the .p8 file's contents)."""
        return self.apns_key_file.read_bytes()

    def service_account(self) -> dict[str, Any]:
        """Return the parsed service-account file."""
        document: dict[str, Any] = msgspec.json.decode(self.fcm_service_account_file.read_bytes())
        return document

    def set_token_uri(self, token_uri: str) -> None:
        """Rewrite the service-account file so that its `token_uri` is `token_uri`."""
        document = self.service_account()
        document["token_uri"] = token_uri
        _write_json_atomically(self.fcm_service_account_file, document)


# --------------------------------------------------------------------------------------------
# What the fake records


@dataclass(frozen=True, slots=True)
class Delivered:
    """One accepted push: the provider, the device token, request headers and parsed body."""

    provider: str
    token: str
    headers: dict[str, str]
    body: Any


@dataclass(frozen=True, slots=True)
class Received:
    """One request the fake answered, accepted or not.

    `provider` is "apns", "fcm" or "hms" (token endpoints count as their provider: `/token` is
    "fcm", `/oauth2/v3/token` is "hms"), or "unknown" for a path the fake does not serve.
    `headers` holds the regular request headers with lower-case names (the HTTP/2 pseudo-headers
    are `method` and `path`). `body` is the parsed JSON or form body, or None when it could not be
    parsed. `answer` is the parsed JSON the fake answered with, or None for an empty answer.
    Requests to `/_fake/*` are not recorded or counted.
    """

    provider: str
    method: str
    path: str
    headers: dict[str, str]
    body: Any
    status: int
    answer: Any


@dataclass(frozen=True, slots=True)
class _Request:
    """A complete request as read off one HTTP/2 stream."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    too_large: bool
    received_at: float = field(default_factory=time.time)  # when its last frame arrived


@dataclass(frozen=True, slots=True)
class _Response:
    """An answer: status, extra headers, the encoded body and the object it was encoded from."""

    status: int
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    payload: Any = None


class _Failure(NamedTuple):
    """A queued `fail_next` answer."""

    kind: str
    retry_after: int | None


class _Rejection(NamedTuple):
    """An APNs error answer."""

    status: int
    reason: str
    retry_after: int | None = None
    timestamp: int | None = None


class _NotJson:
    """Marker for a body that is empty or not valid JSON."""


_NOT_JSON = _NotJson()
AccessState = Literal["ok", "unknown", "expired"]


def _notification_id(request: _Request, body: Any) -> str:
    """Our notification id in a push: the apns-id header, or `nid` in the FCM/HMS data."""
    if "apns-id" in request.headers:
        return request.headers["apns-id"]
    message = body.get("message") if isinstance(body, dict) else None
    data = message.get("data") if isinstance(message, dict) else None
    if isinstance(data, str):
        with contextlib.suppress(ValueError):
            data = json.loads(data)
    return str(data.get("nid", "")) if isinstance(data, dict) else ""


def _json_response(status: int, payload: Any, headers: Sequence[tuple[str, str]] = ()) -> _Response:
    """Build a JSON answer."""
    return _Response(status, (_JSON_TYPE, *headers), msgspec.json.encode(payload), payload)


def _retry_after(seconds: int | None) -> tuple[tuple[str, str], ...]:
    """Return the Retry-After header for `seconds`, or nothing."""
    return () if seconds is None else (("retry-after", str(seconds)),)


def _decode_json(body: bytes) -> Any:
    """Parse a JSON body, or return the not-JSON marker."""
    if not body:
        return _NOT_JSON
    try:
        return msgspec.json.decode(body)
    except msgspec.DecodeError:
        return _NOT_JSON


def _decode_form(body: bytes) -> dict[str, str]:
    """Parse an application/x-www-form-urlencoded body (the last value of a name wins)."""
    text = body.decode("utf-8", errors="replace")
    return dict(urllib.parse.parse_qsl(text, keep_blank_values=True))


def _bearer(headers: dict[str, str]) -> str | None:
    """Return the token of an `authorization: Bearer <token>` header, if there is one."""
    scheme, _, token = headers.get("authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    return token


def _is_int(value: Any) -> bool:
    """Tell whether a JSON value is an integer (booleans are not)."""
    return isinstance(value, int) and not isinstance(value, bool)


def _is_uuid(value: str) -> bool:
    """Tell whether `value` is a canonical 8-4-4-4-12 UUID string."""
    if len(value) != 36:
        return False
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _json_text(value: Any) -> str:
    """Render a JSON value the way Google quotes it in error messages."""
    return msgspec.json.encode(value).decode()


def _now_ms() -> int:
    """Return the time in milliseconds since the epoch."""
    return int(time.time() * 1000)


# --------------------------------------------------------------------------------------------
# APNs request checks


def _apns_header_rejection(headers: dict[str, str], topic: str) -> _Rejection | None:
    """Check the apns-* headers in the order APNs reports them."""
    apns_id = headers.get("apns-id")
    if apns_id is not None and not _is_uuid(apns_id):
        return _Rejection(400, "BadMessageId")
    requested_topic = headers.get("apns-topic")
    if not requested_topic:
        return _Rejection(400, "MissingTopic")
    if requested_topic != topic:
        return _Rejection(400, "TopicDisallowed")
    push_type = headers.get("apns-push-type")
    if push_type not in APNS_PUSH_TYPES:
        return _Rejection(400, "InvalidPushType")
    return _apns_delivery_rejection(headers, push_type)


def _apns_delivery_rejection(headers: dict[str, str], push_type: str) -> _Rejection | None:
    """Check apns-priority, apns-collapse-id and apns-expiration."""
    priority = headers.get("apns-priority")
    if priority is not None and priority not in ("5", "10"):
        return _Rejection(400, "BadPriority")
    if push_type == "background" and priority == "10":
        return _Rejection(400, "BadPriority")
    collapse_id = headers.get("apns-collapse-id")
    if collapse_id is not None and len(collapse_id.encode()) > 64:
        return _Rejection(400, "BadCollapseId")
    expiration = headers.get("apns-expiration")
    if expiration is not None and not re.fullmatch(r"-?\d+", expiration):
        return _Rejection(400, "BadExpirationDate")
    return None


def _apns_payload_rejection(request: _Request, payload: Any) -> _Rejection | None:
    """Check the notification body: present, at most 4096 bytes, a JSON object with `aps`."""
    if not request.body:
        return _Rejection(400, "PayloadEmpty")
    if request.too_large or len(request.body) > APNS_MAX_PAYLOAD:
        return _Rejection(413, "PayloadTooLarge")
    if not isinstance(payload, dict) or not isinstance(payload.get("aps"), dict):
        return _Rejection(400, "BadPayload")
    return None


_APNS_FAILURES = {
    "throttled": (429, "TooManyRequests"),
    "unavailable": (503, "ServiceUnavailable"),
    "internal": (500, "InternalServerError"),
    "expired_auth": (403, "ExpiredProviderToken"),
}


# --------------------------------------------------------------------------------------------
# FCM request checks


def _fcm_error(
    status: int,
    grpc_status: str,
    message: str,
    error_code: str | None,
    headers: Sequence[tuple[str, str]] = (),
) -> _Response:
    """Build Google's JSON error answer, with an FcmError detail when `error_code` is given."""
    error: dict[str, Any] = {"code": status, "message": message, "status": grpc_status}
    if error_code is not None:
        error["details"] = [
            {
                "@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError",
                "errorCode": error_code,
            }
        ]
    return _json_response(status, {"error": error}, headers)


def _fcm_invalid(message: str) -> _Response:
    """Build FCM's 400 INVALID_ARGUMENT answer."""
    return _fcm_error(400, "INVALID_ARGUMENT", message, "INVALID_ARGUMENT")


_FCM_FAILURES = {
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
            return f"Invalid value at '{where}[{index}].value' (TYPE_STRING), {_json_text(item)}"
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
        return f"Invalid value at {where}, {_json_text(ttl)}"
    priority = android.get("priority")
    if priority is not None and not (
        isinstance(priority, str) and priority.lower() in ("normal", "high")
    ):
        where = f"'message.android.priority' ({_FCM_TYPES}.AndroidMessagePriority)"
        return f"Invalid value at {where}, {_json_text(priority)}"
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


def _fcm_body_problem(payload: Any) -> str | None:
    """Check a send request body; return Google's message for the first problem, or None."""
    if not isinstance(payload, dict):
        return "Invalid JSON payload received. Expected an object."
    unknown = _fcm_unknown_field(payload, _FCM_TOP_FIELDS, "")
    if unknown:
        return unknown
    validate_only = payload.get("validate_only", payload.get("validateOnly", False))
    if not isinstance(validate_only, bool):
        return f"Invalid value at 'validate_only' (TYPE_BOOL), {_json_text(validate_only)}"
    return _fcm_message_problem(payload.get("message"))


# --------------------------------------------------------------------------------------------
# HMS request checks


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
    if collapse_key is not None and not (_is_int(collapse_key) and -1 <= collapse_key <= 100):
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


def _hms_body_problem(payload: Any) -> str | None:
    """Check a Push Kit send body; return a description of the first problem, or None."""
    if not isinstance(payload, dict):
        return "body is not a JSON object"
    unknown = next((name for name in payload if name not in _HMS_TOP_FIELDS), None)
    if unknown is not None:
        return f"{unknown} is not a known field"
    if not isinstance(payload.get("validate_only", False), bool):
        return "validate_only must be a boolean"
    return _hms_message_problem(payload.get("message"))


def _hms_answer(
    status: int, code: str, msg: str, headers: Sequence[tuple[str, str]] = ()
) -> _Response:
    """Build Push Kit's `{"code", "msg", "requestId"}` answer."""
    request_id = f"{_now_ms()}{secrets.randbelow(10**11):011d}"
    return _json_response(status, {"code": code, "msg": msg, "requestId": request_id}, headers)


_HMS_FAILURES = {
    "throttled": (429, "80300011", "Flow control"),
    "unavailable": (503, "81000001", "System inner error"),
    "internal": (500, "81000001", "System inner error"),
    "expired_auth": (401, "80200003", "OAuth token expired."),
}


# --------------------------------------------------------------------------------------------
# The server


class FakePushServer:
    """A loopback HTTP/2 server that answers like APNs, FCM HTTP v1 and HMS Push Kit.

    Tests steer it from Python (`mark_dead`, `mark_bad`, `fail_next`, `expire_auth`,
    `latency`) and read what it saw (`sent`, `requests`, `auth_tokens_issued`). With
    `record=False` the `sent` and `requests` lists stay empty and only counters are kept.
    """

    def __init__(
        self, credentials: FakeCredentials, *, latency: float = 0.0, record: bool = True
    ) -> None:
        """Load the public halves of the credentials' keys; call `start()` to serve."""
        self.credentials = credentials
        self.latency = latency
        self.record = record
        self.base_url = ""
        self.sent: list[Delivered] = []
        # (arrival time, provider, notification id) of every accepted push, even unrecorded.
        self.arrivals: list[tuple[float, str, str]] = []
        self.requests: list[Received] = []
        self.auth_tokens_issued: dict[str, int] = dict.fromkeys(PROVIDERS, 0)
        self._sent_counts: dict[str, int] = dict.fromkeys(PROVIDERS, 0)
        self._request_count = 0
        self._dead: dict[str, int] = {}
        self._bad: set[str] = set()
        self._failures: dict[str, deque[_Failure]] = {name: deque() for name in PROVIDERS}
        self._apns_jwts: dict[str, int] = {}
        self._apns_expired: set[str] = set()
        self._apns_cutoff = 0
        self._access_tokens: dict[str, dict[str, bool]] = {"fcm": {}, "hms": {}}
        self._apns_key = _ec_public_key(credentials.apns_private_key_pem())
        self._fcm_key = _rsa_public_key(credentials.service_account()["private_key"].encode())
        self._server: asyncio.Server | None = None
        self._connections: set[_H2ServerProtocol] = set()

    # ---- lifecycle

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Listen on `host:port` (port 0 picks a free one), set `base_url` and the token_uri."""
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: _H2ServerProtocol(self), host, port, backlog=1024
        )
        bound_port = self._server.sockets[0].getsockname()[1]
        shown_host = f"[{host}]" if ":" in host else host
        self.base_url = f"http://{shown_host}:{bound_port}"
        self.credentials.set_token_uri(self.fcm_token_uri)

    async def stop(self) -> None:
        """Stop listening, say GOAWAY on every open connection and close it."""
        if self._server is None:
            return
        self._server.close()
        tasks = [task for conn in list(self._connections) for task in conn.close()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self._server.wait_closed()
        self._server = None

    @property
    def fcm_token_uri(self) -> str:
        """The Google OAuth token endpoint, as written into the service-account file."""
        return f"{self.base_url}/token"

    @property
    def hms_token_url(self) -> str:
        """The Huawei OAuth token endpoint."""
        return f"{self.base_url}/oauth2/v3/token"

    # ---- control from the test's Python code

    def mark_dead(self, token: str) -> None:
        """Make `token` unregistered: APNs 410, FCM 404 UNREGISTERED, HMS 80300007."""
        self._dead[token] = _now_ms()

    def mark_bad(self, token: str) -> None:
        """Make `token` malformed: APNs 400 BadDeviceToken, FCM 400, HMS 80300007."""
        self._bad.add(token)

    def fail_next(
        self, provider: str, kind: str, *, count: int = 1, retry_after: int | None = None
    ) -> None:
        """Answer the next `count` pushes of `provider` with a `kind` failure."""
        _check_provider(provider)
        if kind not in FAILURE_KINDS:
            raise ValueError(f"kind must be one of {FAILURE_KINDS}, not {kind!r}")
        self._failures[provider].extend([_Failure(kind, retry_after)] * count)

    def expire_auth(self, provider: str) -> None:
        """Expire every auth token issued so far for `provider` (APNs: JWTs signed before now)."""
        _check_provider(provider)
        if provider == "apns":
            self._apns_expired.update(self._apns_jwts)
            self._apns_cutoff = int(time.time())
            return
        tokens = self._access_tokens[provider]
        for token in tokens:
            tokens[token] = False

    def stats(self) -> dict[str, Any]:
        """Return the counters that `GET /_fake/stats` answers."""
        return {
            "sent": dict(self._sent_counts),
            "requests": self._request_count,
            "auth_tokens_issued": dict(self.auth_tokens_issued),
        }

    # ---- dispatch

    async def _dispatch(self, request: _Request) -> _Response:
        """Answer one request, recording it unless it is a control request."""
        path = urllib.parse.unquote(request.path.partition("?")[0])
        if path.startswith("/_fake/"):
            return self._control(request, path)
        provider, body, response = await self._route(request, path)
        self._request_count += 1
        if self.record:
            self.requests.append(
                Received(
                    provider=provider,
                    method=request.method,
                    path=request.path,
                    headers=request.headers,
                    body=None if body is _NOT_JSON else body,
                    status=response.status,
                    answer=response.payload,
                )
            )
        return response

    async def _route(self, request: _Request, path: str) -> tuple[str, Any, _Response]:
        """Pick the handler for `path`; return the provider, the parsed body and the answer."""
        if path == "/token":
            form = _decode_form(request.body)
            return "fcm", form, self._require_post(request) or self._google_token(form)
        if path == "/oauth2/v3/token":
            form = _decode_form(request.body)
            return "hms", form, self._require_post(request) or self._hms_token(form)
        payload = _decode_json(request.body)
        if match := _APNS_PATH.match(path):
            return "apns", payload, await self._apns(request, match["token"], payload)
        if match := _FCM_PATH.match(path):
            answer = self._require_post(request) or await self._fcm(
                request, match["project"], payload
            )
            return "fcm", payload, answer
        if match := _HMS_PATH.match(path):
            answer = self._require_post(request) or await self._hms(request, match["app"], payload)
            return "hms", payload, answer
        return "unknown", payload, _json_response(404, {"error": f"no such path: {path}"})

    @staticmethod
    def _require_post(request: _Request) -> _Response | None:
        """Answer 405 unless the request is a POST."""
        if request.method == "POST":
            return None
        return _json_response(405, {"error": "method not allowed"})

    async def _wait_latency(self) -> None:
        """Sleep the configured latency before answering a push."""
        if self.latency > 0:
            await asyncio.sleep(self.latency)

    def _take_failure(self, provider: str) -> _Failure | None:
        """Pop the next queued `fail_next` answer for `provider`, if any."""
        queue = self._failures[provider]
        return queue.popleft() if queue else None

    def _deliver(self, provider: str, token: str, request: _Request, body: Any) -> None:
        """Count an accepted push, note when it arrived (for benchmarks), and record it."""
        self._sent_counts[provider] += 1
        self.arrivals.append((request.received_at, provider, _notification_id(request, body)))
        if self.record:
            self.sent.append(Delivered(provider, token, request.headers, body))

    def _mint(self, provider: str, token: str) -> None:
        """Remember a freshly issued access token."""
        self._access_tokens[provider][token] = True
        self.auth_tokens_issued[provider] += 1

    def _access_state(self, provider: str, headers: dict[str, str]) -> AccessState:
        """Tell whether the request's bearer token is current, expired or unknown."""
        token = _bearer(headers)
        valid = None if token is None else self._access_tokens[provider].get(token)
        if valid is None:
            return "unknown"
        return "ok" if valid else "expired"

    # ---- control endpoints

    def _control(self, request: _Request, path: str) -> _Response:
        """Answer `GET /_fake/stats` and `POST /_fake/latency`."""
        if path == "/_fake/stats" and request.method == "GET":
            return _json_response(200, self.stats())
        if path == "/_fake/arrivals" and request.method == "GET":
            return _json_response(200, {"arrivals": self.arrivals})
        if path == "/_fake/latency" and request.method == "POST":
            payload = _decode_json(request.body)
            seconds = payload.get("seconds") if isinstance(payload, dict) else None
            if not isinstance(seconds, int | float) or isinstance(seconds, bool) or seconds < 0:
                return _json_response(400, {"error": 'expected {"seconds": <number >= 0>}'})
            self.latency = float(seconds)
            return _json_response(200, {"seconds": self.latency})
        return _json_response(404, {"error": f"no such control: {request.method} {path}"})

    # ---- APNs

    async def _apns(self, request: _Request, device_token: str, payload: Any) -> _Response:
        """Answer `POST /3/device/{token}` the way APNs does."""
        given_id = request.headers.get("apns-id", "")
        apns_id = given_id if _is_uuid(given_id) else str(uuid.uuid4())
        if request.method != "POST":
            return _apns_reply(_Rejection(405, "MethodNotAllowed"), apns_id)
        await self._wait_latency()
        rejection = (
            self._apns_auth_rejection(request.headers)
            or self._apns_failure()
            or _apns_header_rejection(request.headers, self.credentials.apns_topic)
            or _apns_payload_rejection(request, payload)
            or self._apns_token_rejection(device_token)
        )
        if rejection is not None:
            return _apns_reply(rejection, apns_id)
        self._deliver("apns", device_token, request, payload)
        return _Response(200, (("apns-id", apns_id),))

    def _apns_auth_rejection(self, headers: dict[str, str]) -> _Rejection | None:
        """Check the provider JWT: present, signed by our key, from our team, not expired."""
        if not headers.get("authorization"):
            return _Rejection(403, "MissingProviderToken")
        token = _bearer(headers)
        if token is None:
            return _Rejection(403, "InvalidProviderToken")
        issued_at = self._apns_jwts.get(token)
        if issued_at is None:
            issued_at = self._verify_apns_jwt(token)
            if issued_at is None:
                return _Rejection(403, "InvalidProviderToken")
            self._apns_jwts[token] = issued_at
            self.auth_tokens_issued["apns"] = len(self._apns_jwts)
        too_old = time.time() - issued_at > APNS_JWT_LIFETIME
        if too_old or issued_at < self._apns_cutoff or token in self._apns_expired:
            return _Rejection(403, "ExpiredProviderToken")
        return None

    def _verify_apns_jwt(self, token: str) -> int | None:
        """Return the `iat` of a well-signed ES256 provider JWT, or None if it is not one."""
        try:
            header = jwt.get_unverified_header(token)
            if header.get("alg") != "ES256" or header.get("kid") != self.credentials.apns_key_id:
                return None
            claims = jwt.decode(
                token,
                self._apns_key,
                algorithms=["ES256"],
                issuer=self.credentials.apns_team_id,
                leeway=60,
                options={"require": ["iss", "iat"], "verify_exp": False, "verify_aud": False},
            )
        except jwt.PyJWTError:
            return None
        issued_at = claims["iat"]
        return issued_at if _is_int(issued_at) else None

    def _apns_failure(self) -> _Rejection | None:
        """Turn a queued `fail_next("apns", ...)` into its APNs answer."""
        failure = self._take_failure("apns")
        if failure is None:
            return None
        status, reason = _APNS_FAILURES[failure.kind]
        return _Rejection(status, reason, retry_after=failure.retry_after)

    def _apns_token_rejection(self, device_token: str) -> _Rejection | None:
        """Check the device token against the fake's bad and dead lists."""
        if not device_token:
            return _Rejection(400, "MissingDeviceToken")
        if device_token in self._bad:
            return _Rejection(400, "BadDeviceToken")
        if device_token in self._dead:
            return _Rejection(410, "Unregistered", timestamp=self._dead[device_token])
        return None

    # ---- Google OAuth and FCM

    def _google_token(self, form: dict[str, str]) -> _Response:
        """Answer the Google OAuth JWT-bearer grant with an access token."""
        grant_type = form.get("grant_type", "")
        if grant_type != JWT_BEARER_GRANT:
            description = f"Invalid grant_type: {grant_type}"
            return _json_response(
                400, {"error": "unsupported_grant_type", "error_description": description}
            )
        problem = self._google_assertion_problem(form.get("assertion", ""))
        if problem is not None:
            error, description = problem
            return _json_response(400, {"error": error, "error_description": description})
        token = f"ya29.fake-{secrets.token_urlsafe(48)}"
        self._mint("fcm", token)
        return _json_response(
            200, {"access_token": token, "expires_in": 3599, "token_type": "Bearer"}
        )

    def _google_assertion_problem(self, assertion: str) -> tuple[str, str] | None:
        """Check the signed assertion; return Google's (error, description) or None."""
        if not assertion:
            return "invalid_request", "Missing required parameter: assertion"
        signature = ("invalid_grant", "Invalid JWT Signature.")
        lifetime = (
            "invalid_grant",
            "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable "
            "timeframe. Check your iat and exp values in the JWT claim.",
        )
        try:
            header = jwt.get_unverified_header(assertion)
            if header.get("kid") != self.credentials.fcm_private_key_id:
                return signature
            claims = jwt.decode(
                assertion,
                self._fcm_key,
                algorithms=["RS256"],
                audience=self.fcm_token_uri,
                issuer=self.credentials.fcm_client_email,
                leeway=60,
                options={"require": ["iss", "aud", "iat", "exp"]},
            )
        except jwt.InvalidAudienceError:
            return "invalid_grant", "Invalid JWT: Failed audience check."
        except jwt.InvalidIssuerError:
            return "invalid_grant", "Invalid grant: account not found"
        except (jwt.ExpiredSignatureError, jwt.ImmatureSignatureError):
            return lifetime
        except jwt.PyJWTError:
            return signature
        return self._google_claims_problem(claims, lifetime)

    @staticmethod
    def _google_claims_problem(
        claims: dict[str, Any], lifetime: tuple[str, str]
    ) -> tuple[str, str] | None:
        """Check the assertion's lifetime (at most an hour) and its scope."""
        issued_at, expires = claims["iat"], claims["exp"]
        if not (_is_int(issued_at) and _is_int(expires)) or not 0 < expires - issued_at <= 3600:
            return lifetime
        scope = claims.get("scope")
        if not isinstance(scope, str) or FCM_SCOPE not in scope.split():
            return "invalid_scope", "Invalid OAuth scope or ID token audience provided."
        return None

    async def _fcm(self, request: _Request, project_id: str, payload: Any) -> _Response:
        """Answer `POST /v1/projects/{project}/messages:send` the way FCM does."""
        await self._wait_latency()
        if self._access_state("fcm", request.headers) != "ok":
            return _fcm_error(401, "UNAUTHENTICATED", FCM_UNAUTHENTICATED, None)
        if project_id != self.credentials.fcm_project_id:
            return _fcm_error(403, "PERMISSION_DENIED", "SenderId mismatch", "SENDER_ID_MISMATCH")
        failure = self._take_failure("fcm")
        if failure is not None:
            return _fcm_failure(failure)
        problem = _fcm_body_problem(payload)
        if problem is not None:
            return _fcm_invalid(problem)
        token: str = payload["message"]["token"]
        if token in self._bad:
            return _fcm_invalid("The registration token is not a valid FCM registration token")
        if token in self._dead:
            return _fcm_error(404, "NOT_FOUND", "Requested entity was not found.", "UNREGISTERED")
        if payload.get("validate_only", payload.get("validateOnly", False)):
            return _json_response(200, {"name": f"projects/{project_id}/messages/fake_message_id"})
        self._deliver("fcm", token, request, payload)
        message_id = f"0:{time.time_ns() // 1000}%{secrets.token_hex(8)}"
        return _json_response(200, {"name": f"projects/{project_id}/messages/{message_id}"})

    # ---- Huawei OAuth and Push Kit

    def _hms_token(self, form: dict[str, str]) -> _Response:
        """Answer Huawei's client-credentials grant with an access token."""
        if (
            form.get("grant_type") != "client_credentials"
            or form.get("client_id") != self.credentials.hms_app_id
            or form.get("client_secret") != self.credentials.hms_client_secret
        ):
            return _json_response(
                400,
                {"error": 1101, "sub_error": 20356, "error_description": "invalid client_secret"},
            )
        # Huawei's tokens are base64 with '+', '/' and '='; clients must not mangle them.
        token = base64.b64encode(secrets.token_bytes(96)).decode("ascii")
        self._mint("hms", token)
        return _json_response(
            200, {"access_token": token, "expires_in": 3600, "token_type": "Bearer"}
        )

    async def _hms(self, request: _Request, app_id: str, payload: Any) -> _Response:
        """Answer `POST /v1/{app_id}/messages:send` the way Push Kit does."""
        await self._wait_latency()
        state = self._access_state("hms", request.headers)
        if state == "expired":
            return _hms_answer(401, "80200003", "OAuth token expired.")
        if state == "unknown" or app_id != self.credentials.hms_app_id:
            return _hms_answer(401, "80200001", "Oauth authentication error")
        failure = self._take_failure("hms")
        if failure is not None:
            status, code, msg = _HMS_FAILURES[failure.kind]
            return _hms_answer(status, code, msg, _retry_after(failure.retry_after))
        problem = _hms_body_problem(payload)
        if problem is not None:
            log.debug("HMS fake rejects the payload: %s", problem)
            return _hms_answer(400, "80100003", "Illegal payload")
        return self._hms_deliver(request, payload)

    def _hms_deliver(self, request: _Request, payload: dict[str, Any]) -> _Response:
        """Deliver to the good tokens of a valid Push Kit request and report the illegal ones."""
        tokens: list[str] = payload["message"]["token"]
        illegal = [token for token in tokens if token in self._bad or token in self._dead]
        if len(illegal) == len(tokens):
            return _hms_answer(200, "80300007", "All the tokens are invalid")
        if not payload.get("validate_only", False):
            for token in tokens:
                if token not in illegal:
                    self._deliver("hms", token, request, payload)
        if not illegal:
            return _hms_answer(200, "80000000", "Success")
        summary = {
            "success": len(tokens) - len(illegal),
            "failure": len(illegal),
            "illegal_tokens": illegal,
        }
        return _hms_answer(200, "80100000", _json_text(summary))


def _check_provider(provider: str) -> None:
    """Reject a provider name the fake does not know."""
    if provider not in PROVIDERS:
        raise ValueError(f"provider must be one of {PROVIDERS}, not {provider!r}")


def _apns_reply(rejection: _Rejection, apns_id: str) -> _Response:
    """Build an APNs error answer: `{"reason": ...}` plus the apns-id header."""
    payload: dict[str, Any] = {"reason": rejection.reason}
    if rejection.timestamp is not None:
        payload["timestamp"] = rejection.timestamp
    headers = (("apns-id", apns_id), *_retry_after(rejection.retry_after))
    return _json_response(rejection.status, payload, headers)


def _fcm_failure(failure: _Failure) -> _Response:
    """Turn a queued `fail_next("fcm", ...)` into its FCM answer."""
    headers = _retry_after(failure.retry_after)
    if failure.kind == "expired_auth":
        return _fcm_error(401, "UNAUTHENTICATED", FCM_UNAUTHENTICATED, None, headers)
    status, grpc_status, message, error_code = _FCM_FAILURES[failure.kind]
    return _fcm_error(status, grpc_status, message, error_code, headers)


# --------------------------------------------------------------------------------------------
# HTTP/2 plumbing


class _Stream:
    """A request being received on one stream."""

    __slots__ = ("body", "headers", "too_large")

    def __init__(self, headers: list[tuple[bytes, bytes]]) -> None:
        self.headers = headers
        self.body = bytearray()
        self.too_large = False

    def add(self, data: bytes) -> None:
        """Append body bytes, dropping everything past the buffering limit."""
        if len(self.body) + len(data) > _MAX_BUFFERED_BODY:
            self.too_large = True
            return
        self.body += data

    def request(self) -> _Request:
        """Turn the received headers and body into a request."""
        pseudo: dict[str, str] = {}
        headers: dict[str, str] = {}
        for raw_name, raw_value in self.headers:
            name = raw_name.decode("ascii", errors="replace").lower()
            value = raw_value.decode("utf-8", errors="replace")
            (pseudo if name.startswith(":") else headers)[name] = value
        return _Request(
            method=pseudo.get(":method", ""),
            path=pseudo.get(":path", ""),
            headers=headers,
            body=bytes(self.body),
            too_large=self.too_large,
        )


class _H2ServerProtocol(asyncio.Protocol):
    """One client connection: h2 frames in, one task per request stream, answers out."""

    def __init__(self, server: FakePushServer) -> None:
        self._server = server
        config = H2Configuration(client_side=False, header_encoding=None)
        self._conn = H2Connection(config=config)
        self._conn.local_settings = Settings(
            client=False,
            initial_values={
                SettingCodes.MAX_CONCURRENT_STREAMS: _MAX_CONCURRENT_STREAMS,
                SettingCodes.MAX_HEADER_LIST_SIZE: 1 << 16,
            },
        )
        self._transport: asyncio.Transport | None = None
        self._streams: dict[int, _Stream] = {}
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._window_waiters: dict[int, asyncio.Future[None]] = {}

    # ---- asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Send our SETTINGS and a larger connection window."""
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        self._server._connections.add(self)
        self._conn.initiate_connection()
        self._conn.increment_flow_control_window(_CONNECTION_WINDOW_BOOST)
        self._flush()

    def data_received(self, data: bytes) -> None:
        """Feed bytes to h2 and act on the events they produce."""
        try:
            events = self._conn.receive_data(data)
        except ProtocolError:
            log.debug("HTTP/2 protocol error from a client; closing", exc_info=True)
            self._flush()
            self._abort()
            return
        for event in events:
            self._on_event(event)
        self._flush()

    def connection_lost(self, exc: Exception | None) -> None:
        """Cancel the connection's stream tasks and forget it."""
        self._transport = None
        self._server._connections.discard(self)
        for task in self._tasks.values():
            task.cancel()
        for waiter in self._window_waiters.values():
            if not waiter.done():
                waiter.cancel()
        self._streams.clear()

    # ---- h2 events

    def _on_event(self, event: Event) -> None:
        """Dispatch one h2 event."""
        if isinstance(event, RequestReceived):
            self._streams[event.stream_id] = _Stream(list(event.headers))
        elif isinstance(event, DataReceived):
            self._on_data(event)
        elif isinstance(event, StreamEnded):
            self._on_stream_ended(event.stream_id)
        elif isinstance(event, StreamReset):
            self._on_stream_reset(event.stream_id)
        elif isinstance(event, WindowUpdated):
            self._on_window_updated(event.stream_id)
        elif isinstance(event, ConnectionTerminated):
            self._abort()

    def _on_data(self, event: DataReceived) -> None:
        """Buffer request body bytes and give the flow-control credit straight back."""
        stream = self._streams.get(event.stream_id)
        if stream is not None:
            stream.add(event.data)
        with contextlib.suppress(ProtocolError):
            self._conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)

    def _on_stream_ended(self, stream_id: int) -> None:
        """Start the task that answers a complete request."""
        stream = self._streams.pop(stream_id, None)
        if stream is None:
            return
        task = asyncio.get_running_loop().create_task(self._answer(stream_id, stream.request()))
        self._tasks[stream_id] = task
        task.add_done_callback(lambda _: self._tasks.pop(stream_id, None))

    def _on_stream_reset(self, stream_id: int) -> None:
        """Drop a stream the client gave up on, and stop answering it."""
        self._streams.pop(stream_id, None)
        task = self._tasks.pop(stream_id, None)
        if task is not None:
            task.cancel()
        self._wake(stream_id)

    def _on_window_updated(self, stream_id: int) -> None:
        """Wake the senders waiting for flow-control credit (all of them for stream 0)."""
        if stream_id == 0:
            for waiting in list(self._window_waiters):
                self._wake(waiting)
        else:
            self._wake(stream_id)

    # ---- answering

    async def _answer(self, stream_id: int, request: _Request) -> None:
        """Compute the answer to one request and send it."""
        try:
            response = await self._server._dispatch(request)
        except Exception:
            log.exception("the push fake failed on %s %s", request.method, request.path)
            response = _json_response(500, {"error": "the fake server failed; see its log"})
        try:
            await self._send(stream_id, response)
        except ProtocolError:
            log.debug("stream %d went away before its answer was sent", stream_id)

    async def _send(self, stream_id: int, response: _Response) -> None:
        """Send the headers, then the body as flow control allows."""
        if self._transport is None:
            return
        headers = [
            (b":status", str(response.status).encode()),
            (b"content-length", str(len(response.body)).encode()),
            *((name.encode(), value.encode()) for name, value in response.headers),
        ]
        self._conn.send_headers(stream_id, headers, end_stream=not response.body)
        self._flush()
        body = response.body
        while body and self._transport is not None:
            window = min(self._conn.local_flow_control_window(stream_id), len(body))
            if window <= 0:
                await self._wait_for_window(stream_id)
                continue
            chunk = body[: min(window, self._conn.max_outbound_frame_size)]
            body = body[len(chunk) :]
            self._conn.send_data(stream_id, chunk, end_stream=not body)
            self._flush()

    async def _wait_for_window(self, stream_id: int) -> None:
        """Wait until the client grants more flow-control credit to `stream_id`."""
        waiter = asyncio.get_running_loop().create_future()
        self._window_waiters[stream_id] = waiter
        try:
            await waiter
        finally:
            self._window_waiters.pop(stream_id, None)

    def _wake(self, stream_id: int) -> None:
        """Release the sender waiting on `stream_id`, if one is."""
        waiter = self._window_waiters.get(stream_id)
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _flush(self) -> None:
        """Write whatever h2 has queued."""
        data = self._conn.data_to_send()
        if data and self._transport is not None and not self._transport.is_closing():
            self._transport.write(data)

    def _abort(self) -> None:
        """Close the transport."""
        if self._transport is not None:
            self._transport.close()

    def close(self) -> list[asyncio.Task[None]]:
        """Say GOAWAY, close the connection and return its unfinished stream tasks."""
        with contextlib.suppress(ProtocolError):
            self._conn.close_connection()
        self._flush()
        self._abort()
        return list(self._tasks.values())


# --------------------------------------------------------------------------------------------
# Command line: `python -m push.fakes --port 8443 --latency 0.02 --credentials DIR`


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(
        prog="python -m push.fakes",
        description="Serve a fake APNs / FCM / HMS Push Kit over cleartext HTTP/2.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds before each answer")
    parser.add_argument(
        "--credentials", type=Path, required=True, help="folder of credentials (made if absent)"
    )
    parser.add_argument(
        "--record", action="store_true", help="keep every request in memory (off: counters only)"
    )
    return parser.parse_args(argv)


async def _serve(args: argparse.Namespace) -> None:
    """Run the fake until SIGTERM or SIGINT, printing one JSON line when it is ready."""
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    credentials = FakeCredentials.load_or_generate(args.credentials)
    server = FakePushServer(credentials, latency=args.latency, record=args.record)
    await server.start(args.host, args.port)
    ready = {
        "base_url": server.base_url,
        "fcm_token_uri": server.fcm_token_uri,
        "hms_token_url": server.hms_token_url,
        "credentials": credentials.describe(),
    }
    try:
        print(_json_text(ready), flush=True)
        await stopping.wait()
    finally:
        await server.stop()


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of `python -m push.fakes`."""
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(_serve(_parse_args(argv)))


if __name__ == "__main__":
    main()
