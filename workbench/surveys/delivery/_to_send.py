"""The survey to send and whom to (the API's deliveries and the console's send page): the
published survey the caller may send or follow, the units of their subtree, their customers by
external id, whether a unit's selection is empty, and a unit's staff."""

from __future__ import annotations

import uuid

from mobile_contracts.v1.identity import Role
from workbench.access import Caller
from workbench.customers.views import text_filter
from workbench.db import Connection
from workbench.errors import Forbidden, NotFound
from workbench.surveys import queries as survey_queries
from workbench.surveys.delivery._common import SENDERS
from workbench.surveys.design import SurveyArchived
from workbench.surveys.invitations import queries


async def sendable(
    conn: Connection, *, caller: Caller, survey_id: uuid.UUID, hold: bool = False
) -> queries.Record:
    """The published survey the caller may send (id, audience, status, version, title); 404
    when there is none they may send, 403 `auth.forbidden` when they see it but their role
    sends no survey (marketing), 409 `survey.archived` when it was archived (as an edit
    answers: the sender learns why, not that it vanished). `hold`: its row share-locked until
    the transaction ends (an archiving waits for the send)."""
    survey = await followable(conn, caller=caller, survey_id=survey_id, hold=hold)
    if survey["status"] == "archived":
        raise SurveyArchived("This survey is archived and is sent no more; send another one")
    return survey


async def followable(
    conn: Connection, *, caller: Caller, survey_id: uuid.UUID, hold: bool = False
) -> queries.Record:
    """As `sendable`, but an archived survey too: the survey of a delivery whose progress the
    caller follows (a delivery stopped by the archiving says so on its progress page)."""
    survey = await queries.survey_to_send(conn, survey_id, hold=hold)
    if survey is None:
        raise NotFound("survey")
    if caller.role not in SENDERS:
        # A survey they see (marketing designs it) is theirs to read, not to send: said as such,
        # not as a survey not found. One they cannot see at all stays unknown to them.
        if await survey_queries.visible_survey(conn, survey_id, caller=caller) is None:
            raise NotFound("survey")
        raise Forbidden(
            f"The {caller.role.value} role does not send surveys: admins send them to anyone,"
            " branch heads to the customers and staff of their subtree, RMs a customer survey"
            " to their own customers"
        )
    if survey["audience"] == "staff" and caller.role is Role.RM:
        raise NotFound("survey")
    return survey


async def units_to_send_to(conn: Connection, *, caller: Caller) -> list[queries.Record]:
    """The org units of the caller's subtree (id, name, path), in tree order."""
    return await queries.units_in_scope(conn, scope_root=caller.scope_root)


async def customers_by_external_id(
    conn: Connection, *, caller: Caller, external_ids: list[str]
) -> dict[str, uuid.UUID]:
    """The caller's reachable customers among these external ids (missing: out of reach)."""
    owner = caller.user_id if caller.role is Role.RM else None
    found = await queries.customers_by_external_id(
        conn, external_ids, scope_root=None if caller.sees_everything else caller.org_unit_id
    )
    if owner is not None:
        mine = await queries.customers_in_scope(conn, list(found.values()), owner_id=owner,
                                                scope_root=None)  # fmt: skip
        found = {k: v for k, v in found.items() if v in mine}
    return found


async def selection_is_empty(
    conn: Connection, *, caller: Caller, unit_id: uuid.UUID, tag: str | None
) -> bool:
    """Whether a unit of the caller's subtree has no customers (with `tag`, if given) to send
    to (`tag` read as a delivery reads it). A unit out of reach is not said to be empty: sending
    to it answers 404."""
    if not await queries.unit_in_scope(conn, unit_id, scope_root=caller.scope_root):
        return False
    return not await queries.any_customers(conn, unit_id, tag=text_filter(tag))


async def staff_of_unit(conn: Connection, *, unit_id: uuid.UUID) -> list[uuid.UUID]:
    return await queries.staff_of_subtree(conn, unit_id)
