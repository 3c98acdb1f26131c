"""What the brochure pages share: paths, roles, labels, the workflow's messages, small helpers
(labels for templates, signed image URLs, a form's field, the staff view) and the review
queue's badge in the navigation.
"""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Request

from mobile_contracts.v1 import brochures as wire
from mobile_contracts.v1.customers import ProductRisk
from mobile_contracts.v1.identity import Role
from workbench.access import Caller
from workbench.brochures import views, workflow
from workbench.console import nav
from workbench.db import Connection
from workbench.http.client_ip import request_ip

Status = wire.BrochureStatus
LIST_PATH = "/console/brochures"
QUEUE_PATH = "/console/brochures/review"
PAGE_SIZE = 20

STAFF = tuple(sorted(nav.BROCHURES.roles))
AUTHORS = (Role.MARKETING, Role.ADMIN)
REVIEWERS = (Role.COMPLIANCE,)
PUBLISHERS = (Role.MARKETING, Role.COMPLIANCE, Role.ADMIN)
WITHDRAWERS = tuple(sorted(workflow.WITHDRAWERS))  # their unpublishing is a withdrawal

STATUS_LABELS = {
    Status.DRAFT: "草稿",
    Status.PENDING_REVIEW: "待审核",
    Status.APPROVED: "已通过",
    Status.REJECTED: "已退回",
    Status.PUBLISHED: "已发布",
    Status.UNPUBLISHED: "已下架",
    Status.SUPERSEDED: "已被新版替换",
}
LIVE_LABELS = {
    wire.LiveState.LIVE: "生效中",
    wire.LiveState.SCHEDULED: "待生效",
    wire.LiveState.EXPIRED: "已过期",
}
RISK_LABELS = {
    ProductRisk.R1: "低风险",
    ProductRisk.R2: "中低风险",
    ProductRisk.R3: "中风险",
    ProductRisk.R4: "中高风险",
    ProductRisk.R5: "高风险",
}
FIELD_LABELS = {
    "title": "标题",
    "product_code": "产品",
    "talk_track": "话术",
    "tags": "标签",
    "pages": "页面",
}

# What the workflow's refusals say on the page (by the API's codes).
MESSAGES = {
    "brochure.in_review": "这个版本正在合规审核，审核结束前不能修改。",
    "brochure.edited_meanwhile": (
        "此宣传册已被修改（可能是您在另一个窗口或同事的修改），请查看最新内容后再保存。"
    ),
    "brochure.content_changed": (
        "内容已变化，本次审核未生效：您打开页面后，这个版本的内容已被修改并重新提交。"
        "下面显示的是当前内容，请重新审核后再作结论。"
    ),
    "brochure.not_approved": "只有合规审核通过的版本才能发布。",
    "brochure.not_published": "这本宣传册目前没有已发布的版本，无需下架。",
    "brochure.withdrawn": (
        "这本宣传册已被合规撤回，原审核通过已失效：请重新提交合规审核，通过后才能发布。"
    ),
    "brochure.risk_changed": (
        "产品风险等级已变更，需重新审核：请重新提交合规审核，通过后才能发布。"
    ),
    "brochure.approval_expired": (
        "合规审核通过的上架期限已过，不能再发布：请按需要的上下架时间重新提交合规审核。"
    ),
    "brochure.beyond_approved_window": (
        "上下架时间超出了合规审核通过的期限：请在审核通过的期限内发布，或按新的时间重新提交合规审核。"
    ),
    "brochure.bad_window": "下架时间必须晚于现在，也必须晚于上架时间。",
    "brochure.reason_required": "请填写退回原因，市场部会据此修改。",
    "withdraw.reason_required": "请填写撤回原因，市场部会看到这段说明。",
    "brochure.unknown_product": "请选择一个在售的产品。",
    "brochure.no_pages": "请至少添加一页页面图片。",
    "brochure.bad_page": "页面列表已过期（可能有人刚修改过），请刷新页面后重试。",
    "brochure.too_many_pages": f"一本宣传册最多 {wire.MAX_PAGES} 页。",
    "auth.forbidden": "这个版本有您上传、修改或提交的内容，需由其他合规同事审核。",
}
# Why compliance is offered no decision on a version they had a hand in (workflow.authored).
OWN_WORK = MESSAGES["auth.forbidden"]


def _labels() -> dict[str, Any]:
    return {
        "status_labels": STATUS_LABELS,
        "live_labels": LIVE_LABELS,
        "risk_labels": RISK_LABELS,
    }


def _signer(request: Request[Any, Any, Any]) -> views.SignUrl:
    state = request.app.state
    ttl = state.settings.media_url_ttl_seconds
    signer = state.media_signer

    def sign(key: str) -> str:
        url: str = signer.url(key, ttl)
        return url

    return sign


def client_address(request: Request[Any, Any, Any]) -> str:
    """The staff member's address for the audit trail, as sign-in records it: the peer's, or
    the one a trusted proxy's relay header names."""
    return request_ip(request)


def _text(data: Any, name: str) -> str:
    value = data.get(name)
    return value if isinstance(value, str) else ""


async def _staff_view(
    request: Request[Any, Any, Any], db: Connection, caller: Caller, brochure_id: uuid.UUID
) -> wire.StaffBrochure:
    return await views.staff_brochure(
        db, caller=caller, brochure_id=brochure_id, sign=_signer(request)
    )


async def pending_reviews(conn: Connection, caller: Caller) -> int:
    """The review queue's length, for compliance's badge in the navigation."""
    return await views.review_count(conn, caller=caller)


nav.add_badge(
    nav.BROCHURES, nav.Badge(label="待审核", roles=frozenset(REVIEWERS), count=pending_reviews)
)
