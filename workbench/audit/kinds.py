"""What the audit trail's kinds and objects are called in the console (and `kind_label` in the
API): a Chinese label per event kind the service records, a name per object type, and the
console page of an object where one exists for the reader's role.

A kind recorded somewhere without a label here is shown by its name (a test lists the kinds the
code records and asks for a label for each).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote, urlencode

from mobile_contracts.v1.identity import Role
from workbench.console import nav

# Kinds recorded by the service and their labels, in the order the console's kind filter lists
# them (by area).
KIND_LABELS: dict[str, str] = {
    # Sign-in and sessions
    "login": "登录",
    "login_failed": "登录失败（账号或密码错误）",
    "login_refused": "登录被拒绝",
    "logout": "退出登录",
    "refresh_reuse": "刷新令牌被重复使用（会话已结束）",
    "console_session_timeout": "控制台会话超时",
    "user.sign_in_unlocked": "解除登录锁定",
    # Data keys
    "keys.rotated": "轮换数据密钥（重新加密）",
    # Devices
    "device_revoked": "停用设备",
    "device_restored": "恢复设备",
    # Org units and staff
    "org_unit_created": "新建机构",
    "org_unit_updated": "修改机构",
    "user_created": "新建用户",
    "user_updated": "修改用户",
    "user_password_set": "设置新密码",
    "user_enabled": "启用用户",
    "user_disabled": "停用用户",
    "admin_bootstrapped": "初始化系统管理员",
    # Customers
    "customer_viewed": "查看客户 360° 视图",
    "verification_invited": "发起客户实名认证",
    "recommendation_rules.replaced": "更新产品推荐规则",
    # Tasks
    "dispatch.created": "派发任务",
    "dispatch.ended": "结束周期派发",
    "task.reassigned": "转派任务",
    "task_template.created": "新建任务模板",
    "task_template.updated": "修改任务模板",
    "task_rule.created": "新建事件规则",
    "task_rule.updated": "修改事件规则",
    # Brochures
    "brochure.created": "新建宣传册",
    "brochure.new_version": "新建宣传册版本",
    "brochure.edited": "编辑宣传册",
    "brochure.approval_voided": "编辑使已批准版本失效",
    "brochure.submitted": "提交宣传册审核",
    "brochure.approved": "批准宣传册",
    "brochure.rejected": "退回宣传册",
    "brochure.published": "发布宣传册",
    "brochure.unpublished": "下架宣传册",
    "brochure.withdrawn": "合规撤回宣传册",
    # Surveys and work orders
    "survey.published": "发布问卷",
    "survey.archived": "归档问卷",
    "alert_rule.created": "新建预警规则",
    "alert_rule.updated": "修改预警规则",
    "alert_rule.applied": "预警规则应用于历史回答",
    "work_order_root_cause.created": "新建根本原因",
    "work_order_root_cause.updated": "修改根本原因",
    "work_order.transitioned": "工单状态变更",
    "work_order.handed_over": "工单转交",
    # Offline packages
    "offline_package.upload": "上传离线包",
    "offline_package.release": "发布离线包",
    "offline_package.widen": "扩大离线包灰度范围",
    "offline_package.pause": "暂停离线包发布",
    "offline_package.resume": "恢复离线包发布",
    "offline_package.rollback": "回滚离线包",
    "offline_package.roll_forward": "回滚后恢复离线包版本",
    # Exports of data
    "export.downloaded": "下载导出文件",
    "export.started": "开始后台导出",
    "survey_results.exported": "导出问卷结果",
    "audit.exported": "导出审计日志",
}

OBJECT_LABELS: dict[str, str] = {
    "alert_rule": "预警规则",
    "audit_events": "审计日志",
    "brochure": "宣传册",
    "customer": "客户",
    "data_key": "数据密钥",
    "device": "设备",
    "dispatch": "派发",
    "export": "导出",
    "export_table": "导出表",
    "offline_package": "离线包",
    "offline_release": "离线包发布",
    "org_unit": "机构",
    "recommendation_rules": "推荐规则",
    "session": "会话",
    "survey": "问卷",
    "task": "任务",
    "task_rule": "事件规则",
    "task_template": "任务模板",
    "user": "用户",
    "work_order": "工单",
    "work_order_root_cause": "根本原因",
}


def kind_label(kind: str) -> str:
    """The kind in the console's words, or the kind itself."""
    return KIND_LABELS.get(kind, kind)


def object_label(object_type: str) -> str:
    return OBJECT_LABELS.get(object_type, object_type)


def split_subject(subject: str | None) -> tuple[str, str | None] | None:
    """`brochure:<id>` -> ("brochure", "<id>"); `recommendation_rules` -> (it, None)."""
    if not subject:
        return None
    kind, colon, object_id = subject.partition(":")
    return kind, (object_id if colon and object_id else None)


@dataclass(frozen=True, slots=True)
class _Page:
    """An object type's console page: its address for an id, and who may open it."""

    href: Callable[[str], str]
    roles: frozenset[Role]


def _id_path(template: str) -> Callable[[str], str]:
    return lambda object_id: template.format(quote(object_id, safe=""))


_PAGES: dict[str, _Page] = {
    "brochure": _Page(_id_path("/console/brochures/{}"), nav.BROCHURES.roles),
    "user": _Page(_id_path("/console/admin/users/{}/edit"), nav.ADMINISTRATION.roles),
    "org_unit": _Page(_id_path("/console/admin/units/{}/edit"), nav.ADMINISTRATION.roles),
    "alert_rule": _Page(_id_path("/console/work-orders/rules/{}/edit"), frozenset({Role.ADMIN})),
    "survey": _Page(_id_path("/console/surveys/{}/results"), nav.SURVEYS.roles),
    "device": _Page(lambda d: f"/console/devices?{urlencode({'q': d})}", nav.DEVICES.roles),
    "offline_package": _Page(lambda _: "/console/packages", nav.PACKAGES.roles),
    "offline_release": _Page(lambda _: "/console/packages", nav.PACKAGES.roles),
    "work_order": _Page(_id_path("/console/work-orders/{}"), nav.WORK_ORDERS.roles),
}
_UUID_OBJECTS = frozenset({"brochure", "user", "org_unit", "alert_rule", "survey", "work_order"})


def object_href(object_type: str, object_id: str | None, role: Role) -> str | None:
    """The console page of the object that a reader of this role may open, or None."""
    page = _PAGES.get(object_type)
    if page is None or object_id is None or role not in page.roles:
        return None
    if object_type in _UUID_OBJECTS and not _is_uuid(object_id):
        return None
    return page.href(object_id)


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True
