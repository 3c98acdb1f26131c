"""Request examples shown in the API reference, by wire type of the request body.

Every operation whose body is one of these types shows them (named, with a summary) and fills
"Try it out" with the first one. A test decodes each example into its type exactly as the API
does, and checks it against the published OpenAPI schema, so an example never goes stale.
Ids are made up: use ones the API gave you. Decimal amounts travel as strings.

One private module per area of the API, merged here into `REQUEST_EXAMPLES`:
- `_identity`: signing in, refreshing, the staff admin's units, users and passwords
- `_customers`: the bank's feeds (customers, holdings, conversions, products), notes,
  recommendation rules
- `_tasks`: templates, dispatches, submissions and the rest of a task's life, event rules
- `_brochures`: shares, compliance's review and publishing, the viewer page's beacons
- `_sync`: sync pull and push, the offline packages' gray release and installs
- `_push`: device registration, notification preferences
- `_surveys`: surveys (NPS and staff pulse), drafts, deliveries, submissions
- `_workorders`: alert rules, work-order transitions, root causes
- `_common`: what they share (`BodyExample`, the made-up ids)
"""

from __future__ import annotations

import msgspec

from mobile_contracts.examples._brochures import (
    BROCHURE_EXAMPLES,
    SHARE_EXAMPLES,
    TRACKING_EXAMPLES,
)
from mobile_contracts.examples._common import (
    ATTACHMENT_ID,
    BROCHURE_ID,
    CONTENT_HASH,
    CURSOR,
    CUSTOMER_ID,
    CUSTOMER_ID_2,
    DEVICE_ID,
    EVENT_ID,
    EVENT_ID_2,
    H5_PACKAGE_SHA256,
    MEDIA_PACK_SHA256,
    NOTE_ID,
    NOTIFICATION_ID,
    ORG_UNIT_ID,
    SHARE_CODE,
    SHARE_REF,
    SURVEY_ID,
    TASK_ID,
    TEMPLATE_ID,
    USER_ID,
    USER_ID_2,
    VISITOR_ID,
    BodyExample,
)
from mobile_contracts.examples._customers import CUSTOMER_EXAMPLES
from mobile_contracts.examples._identity import IDENTITY_EXAMPLES
from mobile_contracts.examples._push import PUSH_EXAMPLES
from mobile_contracts.examples._surveys import SURVEY_EXAMPLES
from mobile_contracts.examples._sync import OFFLINE_RELEASE_EXAMPLES, SYNC_EXAMPLES
from mobile_contracts.examples._tasks import TASK_EXAMPLES
from mobile_contracts.examples._workorders import WORK_ORDER_EXAMPLES

REQUEST_EXAMPLES: dict[type[msgspec.Struct], dict[str, BodyExample]] = {
    **IDENTITY_EXAMPLES,
    **CUSTOMER_EXAMPLES,
    **TASK_EXAMPLES,
    **SHARE_EXAMPLES,
    **SYNC_EXAMPLES,
    **PUSH_EXAMPLES,
    **BROCHURE_EXAMPLES,
    **OFFLINE_RELEASE_EXAMPLES,
    **SURVEY_EXAMPLES,
    **WORK_ORDER_EXAMPLES,
    **TRACKING_EXAMPLES,
}
"""Examples by request body type; every operation taking that type shows them."""

__all__ = [
    "ATTACHMENT_ID",
    "BROCHURE_ID",
    "CONTENT_HASH",
    "CURSOR",
    "CUSTOMER_ID",
    "CUSTOMER_ID_2",
    "DEVICE_ID",
    "EVENT_ID",
    "EVENT_ID_2",
    "H5_PACKAGE_SHA256",
    "MEDIA_PACK_SHA256",
    "NOTE_ID",
    "NOTIFICATION_ID",
    "ORG_UNIT_ID",
    "REQUEST_EXAMPLES",
    "SHARE_CODE",
    "SHARE_REF",
    "SURVEY_ID",
    "TASK_ID",
    "TEMPLATE_ID",
    "USER_ID",
    "USER_ID_2",
    "VISITOR_ID",
    "BodyExample",
]
