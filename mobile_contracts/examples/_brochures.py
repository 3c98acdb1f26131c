"""Request examples of brochures and their shares: an RM's share, compliance's review and the
publishing window, and the beacons the share's viewer page sends (three dicts, each merged at
its own place in `REQUEST_EXAMPLES`)."""

from __future__ import annotations

import msgspec

from mobile_contracts.examples._common import (
    BROCHURE_ID,
    CONTENT_HASH,
    CUSTOMER_ID,
    EVENT_ID,
    EVENT_ID_2,
    SHARE_CODE,
    SHARE_REF,
    VISITOR_ID,
    BodyExample,
)
from mobile_contracts.v1 import brochures, shares, tracking

SHARE_EXAMPLES: dict[type[msgspec.Struct], dict[str, BodyExample]] = {
    shares.ShareCreate: {
        "to_customer": BodyExample(
            "Share a brochure with one of my customers over WeChat",
            {
                "brochure_id": BROCHURE_ID,
                "customer_id": CUSTOMER_ID,
                "channel": "wechat",
                "client_ref": SHARE_REF,
            },
            "`client_ref` is made by the app: sending it again gives the same share.",
        ),
        "poster": BodyExample(
            "A poster with a QR code, for anyone", {"brochure_id": BROCHURE_ID, "channel": "qr"}
        ),
    },
}

BROCHURE_EXAMPLES: dict[type[msgspec.Struct], dict[str, BodyExample]] = {
    brochures.ApproveRequest: {
        "reviewed": BodyExample(
            "Compliance approves the content they reviewed",
            {"content_hash": CONTENT_HASH},
            "`content_hash` is the `latest.content_hash` of the staff view that was reviewed. If"
            " marketing changed the content since (rejected, edited and resubmitted), nothing is"
            " approved: 409 `brochure.content_changed`.",
        ),
    },
    brochures.RejectRequest: {
        "risk_disclosure": BodyExample(
            "Compliance sends a version back for a missing risk warning",
            {
                "reason": "第3页展示了业绩比较基准，但未提示“理财非存款、产品有风险、投资须谨慎”，"
                "请补充风险揭示后重新提交。",
                "content_hash": CONTENT_HASH,
            },
            "The reason is shown to marketing and kept in the brochure's review history and the"
            " audit trail. `content_hash` names the content reviewed, as for an approval.",
        ),
        "wrong_product": BodyExample(
            "The brochure names the wrong product",
            {"reason": "宣传材料中的产品期限为180天，与所选产品“稳享90天理财”不符。"},
        ),
    },
    brochures.PublishRequest: {
        "window": BodyExample(
            "Live for the year-end wealth season only",
            {
                "live_from": "2026-12-01T09:00:00+08:00",
                "live_until": "2027-02-28T18:00:00+08:00",
            },
            "It goes live and expires at those times by itself; a `live_from` in the past means"
            " now.",
        ),
        "now": BodyExample("Live from now, with no end", {}),
        "until": BodyExample(
            "Live from now until the product's subscription closes",
            {"live_until": "2026-12-31T17:00:00+08:00"},
        ),
    },
}

TRACKING_EXAMPLES: dict[type[msgspec.Struct], dict[str, BodyExample]] = {
    tracking.Beacon: {
        "open": BodyExample(
            "The page was visibly rendered: an open",
            {"code": SHARE_CODE, "visitor_id": VISITOR_ID, "type": "open", "event_id": EVENT_ID},
            "The viewer page's script sends these; a fetch of the page never counts an open."
            " The same `event_id` again counts once.",
        ),
        "heartbeat": BodyExample(
            "A heartbeat: 5 s more of visible reading time",
            {
                "code": SHARE_CODE,
                "visitor_id": VISITOR_ID,
                "type": "heartbeat",
                "ms": 5000,
                "event_id": EVENT_ID_2,
            },
        ),
        "page_view": BodyExample(
            "Page 2 scrolled into view",
            {
                "code": SHARE_CODE,
                "visitor_id": VISITOR_ID,
                "type": "page_view",
                "page": 2,
                "event_id": "7d1f3b5a-2c4e-4a6b-8d0f-9e1c3a5b7d24",
            },
        ),
        "cta": BodyExample(
            "The customer tapped 我有兴趣，请联系我",
            {
                "code": SHARE_CODE,
                "visitor_id": VISITOR_ID,
                "type": "cta",
                "event_id": "e4b6d8f0-3a5c-4e7a-9b1d-2f4a6c8e0b35",
            },
        ),
    },
}
