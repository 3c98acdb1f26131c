"""The demo bank's brochures: 20, in every state, so `workbench dev` shows a full catalogue to
RMs and a review queue to compliance. Made through the same workflow as the API (marketing
uploads and submits, compliance approves or rejects, either publishes)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from mobile_contracts.v1 import brochures as wire
from mobile_contracts.v1.identity import Role
from workbench.access import Caller
from workbench.brochures import artwork, queries, workflow
from workbench.db import Connection
from workbench.settings import Settings
from workbench.tracking.viewer import risk_note

StoreImage = Callable[[bytes, Caller], Awaitable[bytes]]


@dataclass(frozen=True)
class DemoBrochure:
    product_code: str
    title: str
    headline: str
    points: tuple[str, ...]
    tags: tuple[str, ...]
    # live, scheduled, expired, ending, revised, pending, approved, rejected, draft, unpublished
    state: str


_POINTS = {
    1: ("本金安全性高，流动性好", "适合日常资金管理与短期闲置资金", "T+0 快速赎回，随用随取"),
    2: (
        "业绩比较基准稳健，波动较小",
        "投资于高等级债券与货币市场工具",
        "适合风险承受能力C2及以上的客户",
    ),
    3: ("股债均衡配置，兼顾收益与回撤", "专业团队动态调整资产配置", "建议持有一年以上"),
    4: ("分享优质企业成长红利", "净值波动较大，适合长期投资", "适合风险承受能力C4及以上的客户"),
    5: ("门槛较高，仅限合格投资者", "投资期限长，流动性较低", "适合风险承受能力C5的客户"),
}
BROCHURES = [
    DemoBrochure("CASH01", "天天盈", "零钱理财新选择，随存随取", (), ("热销", "现金管理"), "live"),
    DemoBrochure("DEP3M", "三个月定期", "短期稳妥，利率锁定", (), ("存款",), "live"),
    DemoBrochure(
        "DEP1Y", "大额存单", "一年期大额存单，利率优于普通定期", (), ("存款", "高净值"), "live"
    ),
    DemoBrochure("WM90", "稳享90天", "90天一个周期，稳健增值", (), ("理财", "热销"), "live"),
    DemoBrochure("WM180", "安盈180天", "半年期理财，收益更稳健", (), ("理财",), "revised"),
    DemoBrochure("BOND01", "纯债增强", "以债为主，适度增强", (), ("基金",), "live"),
    DemoBrochure("MIX01", "平衡配置", "股债平衡，穿越周期", (), ("基金", "配置"), "live"),
    DemoBrochure("GOLD01", "黄金积存", "小额积存，长期配置黄金", (), ("贵金属",), "ending"),
    DemoBrochure("IDX300", "沪深300", "一键布局核心资产", (), ("基金", "指数"), "live"),
    DemoBrochure("TECH01", "科技成长", "聚焦科技创新赛道", (), ("基金", "成长"), "scheduled"),
    DemoBrochure(
        "PENS01", "个人养老金", "每年最高12000元，享税收优惠", (), ("养老", "热销"), "live"
    ),
    DemoBrochure("INS01", "终身寿险", "一份保障，守护一生", (), ("保险",), "live"),
    DemoBrochure("QDII01", "全球精选", "全球配置，分散风险", (), ("基金", "海外"), "pending"),
    DemoBrochure("STRUCT1", "挂钩黄金结构性存款", "保本浮动收益", (), ("存款",), "approved"),
    DemoBrochure("PE01", "私募股权母基金", "专业投资机构精选", (), ("私募", "高净值"), "rejected"),
    DemoBrochure("FX01", "双币理财", "把握汇率波动机会", (), ("理财", "外汇"), "expired"),
    DemoBrochure("WM90", "稳享90天 · 新客专享", "新客户首购专享", (), ("新客",), "draft"),
    DemoBrochure("CASH01", "天天盈 · 工资理财", "工资到账自动理财", (), ("代发",), "unpublished"),
    DemoBrochure(
        "PENS01", "养老金 · 年末冲刺", "年末前缴存，当年即可抵税", (), ("养老",), "pending"
    ),
    DemoBrochure("BOND01", "纯债增强 · 春季版", "春季配置正当时", (), ("基金",), "live"),
]


async def seed_demo_brochures_from_settings(conn: Connection, settings: Settings) -> dict[str, int]:
    """The demo brochures, their images in the blob store the settings name."""
    from workbench.media import service as media
    from workbench.media.store import blob_store_from_settings

    store = blob_store_from_settings(settings)

    async def store_image(raw: bytes, caller: Caller) -> bytes:
        image = await media.store_source_image(
            conn, store, raw, limits=settings.image_limits, uploaded_by=caller.user_id
        )
        return image.sha256

    try:
        return await seed_demo_brochures(
            conn, store_image=store_image, bank=settings.bank_name, now=datetime.now(UTC)
        )
    finally:
        await store.close()


async def seed_demo_brochures(
    conn: Connection, *, store_image: StoreImage, bank: str, now: datetime
) -> dict[str, int]:
    """The 20 demo brochures, unless the bank has brochures already."""
    if await queries.any_brochure(conn):
        return {"brochures": 0}
    marketing = await _caller(conn, "marketing")
    compliance = await _caller(conn, "compliance")
    if marketing is None or compliance is None:
        return {"brochures": 0}
    products = {r["code"]: r for r in await queries.products(conn)}
    made = 0
    for n, demo in enumerate(BROCHURES):
        product = products.get(demo.product_code)
        if product is None:
            continue
        await _make(conn, demo, product, n, marketing, compliance, store_image, bank, now)
        made += 1
    return {"brochures": made}


def sheet_for(
    demo: DemoBrochure, product: queries.Record, *, bank: str, palette: int
) -> artwork.Sheet:
    """What a demo brochure's pages say: its footer's risk note is the product category's, as
    the share page under them words it (a deposit's pages never say 理财非存款)."""
    return artwork.Sheet(
        bank=bank, title=demo.title, product_name=product["name"],
        product_code=demo.product_code, risk_level=product["risk_level"],
        headline=demo.headline, points=demo.points or _POINTS[product["risk_level"]],
        palette=palette, risk_note=risk_note(product["category"], product["risk_level"]),
    )  # fmt: skip


async def _make(
    conn: Connection,
    demo: DemoBrochure,
    product: queries.Record,
    n: int,
    marketing: Caller,
    compliance: Caller,
    store_image: StoreImage,
    bank: str,
    now: datetime,
) -> None:
    sheet = sheet_for(demo, product, bank=bank, palette=n)
    images = artwork.pages(sheet, count=2 + n % 2)
    meta = wire.BrochureMeta(
        title=demo.title, product_code=demo.product_code, tags=list(demo.tags),
        talk_track=f"{demo.headline}。{sheet.points[0]}；{sheet.points[-1]}。",
    )  # fmt: skip

    async def store(raw: bytes) -> bytes:
        return await store_image(raw, marketing)

    files = [workflow.Upload(data=image) for image in images]
    brochure_id = await workflow.create(
        conn, caller=marketing, meta=meta, files=files, store_image=store
    )
    if demo.state == "draft":
        return
    # Submitted for the window it is published with (the approval covers that window, no more;
    # an expired one is not published again without a new review), or for a quarter (approved).
    window = {
        "scheduled": (now + timedelta(days=7), None),
        "expired": (now - timedelta(days=60), now - timedelta(days=1)),
        "ending": (None, now + timedelta(days=10)),
        "approved": (None, now + timedelta(days=90)),
    }.get(demo.state, (None, None))
    # Published five weeks ago (the expired ones two months ago), so that the demo month of
    # shares (workbench/shares/demo.py) falls after each brochure's publication.
    published_at = now - timedelta(days=61 if demo.state == "expired" else 35)
    asked = wire.SubmitRequest(live_from=window[0], live_until=window[1])
    submitted_at = published_at if demo.state not in ("pending", "rejected") else now
    await workflow.submit(
        conn, caller=marketing, brochure_id=brochure_id, window=asked, now=submitted_at
    )
    if demo.state == "pending":
        return
    if demo.state == "rejected":
        await workflow.reject(
            conn, caller=compliance, brochure_id=brochure_id,
            reason="收益表述需补充“业绩比较基准不代表实际收益”的风险提示",
        )  # fmt: skip
        return
    await workflow.approve(conn, caller=compliance, brochure_id=brochure_id)
    if demo.state == "approved":
        return
    await workflow.publish(
        conn, caller=marketing, brochure_id=brochure_id, now=published_at,
        window=wire.PublishRequest(live_from=window[0], live_until=window[1]),
    )  # fmt: skip
    if demo.state == "unpublished":
        await workflow.unpublish(conn, caller=marketing, brochure_id=brochure_id)
    elif demo.state == "revised":
        revised = wire.BrochureMeta(
            title=f"{demo.title}（新版）", product_code=demo.product_code, tags=list(demo.tags),
            talk_track=f"{meta.talk_track}新增：到期自动续投可选。", pages=None,
        )  # fmt: skip
        await workflow.edit(
            conn, caller=marketing, brochure_id=brochure_id, meta=revised, files=[],
            store_image=store,
        )  # fmt: skip
        await workflow.submit(conn, caller=marketing, brochure_id=brochure_id)


async def _caller(conn: Connection, login: str) -> Caller | None:
    user = await queries.user_for_login(conn, login)
    if user is None:
        return None
    return Caller(
        user_id=user["id"], role=Role(user["role"]), org_unit_id=user["org_unit_id"],
        session_id=uuid.UUID(int=0), device_id="seed",
    )  # fmt: skip
