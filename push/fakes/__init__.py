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

from push.fakes.credentials import FakeCredentials
from push.fakes.server import FakePushServer

__all__ = ["FakeCredentials", "FakePushServer"]
