"""The demo bank: a head office, two branches, four teams and one user per role.

Idempotent and non-destructive: what exists (by id or login) is left as it is, so running it again,
or after an admin changed a demo user, changes nothing.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

from mobile_contracts.v1.identity import Role
from workbench.db import Connection
from workbench.identity import queries
from workbench.ids import uuid5_for
from workbench.security.passwords import Passwords

log = logging.getLogger("workbench.seed")

DEMO_PASSWORD = "workbench-demo"  # noqa: S105 - the demo bank's published password


@dataclass(frozen=True, slots=True)
class DemoUser:
    login: str
    name: str
    role: Role
    unit: str


# (key, display name, parent key)
ORG_UNITS = [
    ("head-office", "总行 Head Office", None),
    ("branch-east", "东城支行 East Branch", "head-office"),
    ("branch-west", "西城支行 West Branch", "head-office"),
    ("team-east-1", "东城一组 East Team 1", "branch-east"),
    ("team-east-2", "东城二组 East Team 2", "branch-east"),
    ("team-west-1", "西城一组 West Team 1", "branch-west"),
    ("team-west-2", "西城二组 West Team 2", "branch-west"),
]

USERS = [
    DemoUser("admin", "系统管理员 Admin", Role.ADMIN, "head-office"),
    DemoUser("marketing", "市场部 Marketing", Role.MARKETING, "head-office"),
    DemoUser("compliance", "合规部 Compliance", Role.COMPLIANCE, "head-office"),
    DemoUser("bh.east", "王东 East Branch Head", Role.BRANCH_HEAD, "branch-east"),
    DemoUser("bh.west", "李西 West Branch Head", Role.BRANCH_HEAD, "branch-west"),
    DemoUser("rm01", "张伟", Role.RM, "team-east-1"),
    DemoUser("rm02", "王芳", Role.RM, "team-east-1"),
    DemoUser("rm03", "李娜", Role.RM, "team-east-2"),
    DemoUser("rm04", "刘洋", Role.RM, "team-east-2"),
    DemoUser("rm05", "陈静", Role.RM, "team-west-1"),
    DemoUser("rm06", "杨磊", Role.RM, "team-west-1"),
    DemoUser("rm07", "赵敏", Role.RM, "team-west-2"),
    DemoUser("rm08", "黄强", Role.RM, "team-west-2"),
]


async def seed_demo_bank(conn: Connection, *, passwords: Passwords) -> dict[str, int]:
    """Insert the demo org tree and users where missing; return how many of each were added."""
    await queries.lock_org_setup(conn)
    added = {"org_units": 0, "users": 0}
    ids: dict[str, uuid.UUID] = {}
    for key, name, parent_key in ORG_UNITS:
        unit_id = uuid5_for(f"org:{key}")
        existing = await queries.org_unit(conn, unit_id)
        if existing is None and parent_key is None:
            # A bootstrap admin may have created the head office already: hang the demo under it.
            existing = await queries.root_org_unit(conn)
        if existing is None:
            parent = await queries.org_unit(conn, ids[parent_key]) if parent_key else None
            existing = await queries.insert_org_unit(
                conn, unit_id=unit_id, name=name, parent=parent
            )
            added["org_units"] += 1
        ids[key] = existing["id"]
    password_hash = await passwords.hash(DEMO_PASSWORD)
    for user in USERS:
        row = await queries.insert_user(
            conn,
            user_id=uuid5_for(f"user:{user.login}"),
            login=user.login,
            name=user.name,
            role=user.role.value,
            org_unit_id=ids[user.unit],
            password_hash=password_hash,
        )
        added["users"] += row is not None
    log.info("demo bank seeded", extra=added)
    return added
