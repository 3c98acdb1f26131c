"""The console's sections: what the navigation and the home page offer, and to which roles.

A section that is not built yet (`ready=False`) shows as a disabled item ("即将上线"); once its
pages exist, set `ready=True` and give its pages `opt=visible_to(*SECTION.roles)` so that the
link and the page agree on who may use them (a test checks it).

A section may show a count of work waiting for some roles beside its link and on its home card
(compliance: brochures to review): the feature registers a `Badge` with `add_badge`, and every
console page asks for it once (`badges_for`, in the `console` dependency).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from mobile_contracts.v1.identity import Role

if TYPE_CHECKING:
    from workbench.access import Caller
    from workbench.db import Connection

# Who may use the console at all: everyone but relationship managers (they have the app).
STAFF_ROLES = frozenset({Role.BRANCH_HEAD, Role.MARKETING, Role.COMPLIANCE, Role.ADMIN})

ROLE_LABELS = {
    Role.RM: "客户经理",
    Role.BRANCH_HEAD: "支行负责人",
    Role.MARKETING: "市场营销",
    Role.COMPLIANCE: "合规审核",
    Role.ADMIN: "系统管理员",
}


@dataclass(frozen=True, slots=True)
class Section:
    key: str
    label: str
    path: str
    icon: str  # a name in templates/_icons.html
    roles: frozenset[Role]
    summary: str  # one line on the home page card
    # A sharper line for some roles (compliance reviews what marketing uploads).
    summary_by_role: dict[Role, str] = field(default_factory=dict)
    ready: bool = True
    exact: bool = False  # only its own path is in the section (home), not those below it

    def summary_for(self, role: Role) -> str:
        return self.summary_by_role.get(role, self.summary)

    def contains(self, path: str) -> bool:
        return path == self.path or (not self.exact and path.startswith(self.path + "/"))


HOME = Section(
    key="home",
    label="首页",
    path="/console",
    icon="home",
    roles=STAFF_ROLES,
    summary="工作台概览",
    exact=True,
)
BROCHURES = Section(
    key="brochures",
    label="产品宣传册",
    path="/console/brochures",
    icon="brochure",
    roles=frozenset({Role.MARKETING, Role.COMPLIANCE, Role.ADMIN}),
    summary="上传页面与话术，提交合规审核，设置上下架时间",
    summary_by_role={
        Role.COMPLIANCE: "审核待批的宣传册版本，批准或退回并说明原因",
        Role.ADMIN: "查看全部宣传册及其审核、发布状态",
    },
)
FUNNELS = Section(
    key="funnels",
    label="分享与转化",
    path="/console/funnels",
    icon="funnel",
    roles=frozenset({Role.MARKETING, Role.BRANCH_HEAD, Role.ADMIN}),
    summary="按客户经理、网点、宣传册查看打开、停留与转化",
)
TRACKING = Section(
    key="tracking",
    label="过滤的访问",
    path="/console/tracking/filtered",
    icon="shield",
    roles=frozenset({Role.ADMIN}),
    summary="分享链接上被判定为机器的访问：原因、次数与示例",
)
SURVEYS = Section(
    key="surveys",
    label="问卷与回访",
    path="/console/surveys",
    icon="survey",
    roles=frozenset({Role.MARKETING, Role.BRANCH_HEAD, Role.ADMIN}),
    summary="设计问卷，查看满意度与预警工单",
    # A branch head sends published surveys and reads their results (designing them is
    # marketing's; work orders have their own card).
    summary_by_role={Role.BRANCH_HEAD: "发送已发布的问卷，查看回访结果与满意度"},
)
WORK_ORDERS = Section(
    key="work_orders",
    label="预警工单",
    path="/console/work-orders",
    icon="alert",
    roles=frozenset({Role.BRANCH_HEAD, Role.ADMIN}),
    summary="低分与投诉自动生成的工单：处理、升级与关闭",
)
PACKAGES = Section(
    key="packages",
    label="离线包",
    path="/console/packages",
    icon="upload",
    roles=frozenset({Role.ADMIN}),
    summary="离线页面安装包的灰度发布、暂停与回滚，各版本的设备安装情况",
)
DASHBOARD = Section(
    key="dashboard",
    label="团队看板",
    path="/console/dashboard",
    icon="team",
    roles=frozenset({Role.BRANCH_HEAD, Role.ADMIN}),
    summary="任务完成与逾期、分享转化、满意度与预警工单，可下钻到团队和客户经理",
)
TEAM_TASKS = Section(
    key="team_tasks",
    label="团队任务",
    path="/console/tasks",
    icon="queue",
    roles=frozenset({Role.BRANCH_HEAD}),
    summary="本机构客户经理未完成的任务：按人、逾期查看，转派给其他客户经理",
)
REPORTS = Section(
    key="reports",
    label="月度报告",
    path="/console/reports",
    icon="brochure",
    roles=frozenset({Role.BRANCH_HEAD, Role.ADMIN}),
    summary="每月初自动生成的支行经营报告（PDF），可按月重新生成",
)
EXPORTS = Section(
    key="exports",
    label="我的导出",
    path="/console/exports",
    icon="download",
    roles=DASHBOARD.roles,
    summary="看板表格导出的 CSV 与 Excel 文件：进度与下载",
)
DEVICES = Section(
    key="devices",
    label="设备管理",
    path="/console/devices",
    icon="device",
    roles=frozenset({Role.BRANCH_HEAD, Role.ADMIN}),
    summary="查找员工的手机、平板和浏览器，停用遗失的设备，找回后恢复",
)
ADMINISTRATION = Section(
    key="admin",
    label="机构与用户",
    path="/console/admin",
    icon="settings",
    roles=frozenset({Role.ADMIN}),
    summary="维护机构树与员工账号：新建、调岗、重置密码、停用与启用",
)
AUDIT = Section(
    key="audit",
    label="审计日志",
    path="/console/audit",
    icon="history",
    roles=frozenset({Role.COMPLIANCE, Role.ADMIN}),
    summary="全行的登录、变更、客户数据查看与导出记录：按时间、人员、类型、对象查找，导出 CSV",
)

SECTIONS: tuple[Section, ...] = (
    HOME, DASHBOARD, BROCHURES, FUNNELS, TRACKING, SURVEYS, WORK_ORDERS, TEAM_TASKS, PACKAGES,
    REPORTS, EXPORTS, DEVICES, ADMINISTRATION, AUDIT,
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Badge:
    """A count beside a section's link, for the roles whose work it is."""

    label: str  # what is counted, read out with the number: "待审核"
    roles: frozenset[Role]
    count: Callable[[Connection, Caller], Awaitable[int]]  # the feature's own service


@dataclass(frozen=True, slots=True)
class Count:
    """A badge's number on a page (0 shows nothing)."""

    label: str
    value: int


_BADGES: dict[str, Badge] = {}


def add_badge(section: Section, badge: Badge) -> None:
    """Show `badge` on `section` for its roles (a feature's console module does this once)."""
    _BADGES[section.key] = badge


async def badges_for(conn: Connection, caller: Caller) -> dict[str, Count]:
    """The counts of the sections this caller's role has badges on, by section key."""
    return {
        key: Count(badge.label, await badge.count(conn, caller))
        for key, badge in _BADGES.items()
        if caller.role in badge.roles
    }


def sections_for(role: Role) -> list[Section]:
    """The sections this role may use, in navigation order."""
    return [s for s in SECTIONS if role in s.roles]


def section_of(path: str) -> Section | None:
    """The section a console path belongs to (the longest matching one)."""
    matching = [s for s in SECTIONS if s.contains(path)]
    return max(matching, key=lambda s: len(s.path)) if matching else None
