"""`FakePushServer`: routes each request to the provider it imitates, checks credentials and
the request, and records what it answered.

One private module per role, re-exported here (the server is one class built from them):
- `_http`: `FakePushServer` itself, the HTTP plumbing (listening and stopping, routing by path,
  recording each request, the `/_fake/` control endpoints)
- `_apns`: the APNs fake (provider JWT, headers, payload, device token)
- `_fcm`: the Google OAuth and FCM HTTP v1 fake
- `_hms`: the Huawei OAuth and HMS Push Kit fake
- `_state`: the shared state and recording (what tests steer from Python, what was sent and
  requested, the helpers every provider answers through)
"""

from push.fakes.server._apns import APNS_JWT_LIFETIME
from push.fakes.server._fcm import FCM_SCOPE, FCM_UNAUTHENTICATED, JWT_BEARER_GRANT
from push.fakes.server._http import FakePushServer
from push.fakes.server._state import FAILURE_KINDS, PROVIDERS

__all__ = [
    "APNS_JWT_LIFETIME",
    "FAILURE_KINDS",
    "FCM_SCOPE",
    "FCM_UNAUTHENTICATED",
    "JWT_BEARER_GRANT",
    "PROVIDERS",
    "FakePushServer",
]
