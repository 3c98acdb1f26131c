"""Task inbox endpoints: templates, dispatches, the RM's tasks, confirmation, progress (event
rules: `rule_routes`)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, patch, post, put
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.openapi import ResponseSpec
from litestar.params import (
    Body,
    FromPath,
    FromQuery,
    HeaderParameter,
    JSONBody,
    QueryParameter,
)
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from mobile_contracts.v1 import dispatches as dispatch_wire
from mobile_contracts.v1 import tasks as wire
from mobile_contracts.v1.common import Page
from mobile_contracts.v1.identity import Role
from workbench.access import requires_role
from workbench.http.client_ip import request_ip
from workbench.http.deps import CurrentCaller, Db
from workbench.http.openapi import ERRORS
from workbench.pagination import DEFAULT_LIMIT, BareArray, Limit
from workbench.periods import DAY_OR_TIME, bounded_period
from workbench.tasks import (
    attachments,
    confirmation,
    dispatching,
    lifecycle,
    progress,
    reassign,
    templates,
)
from workbench.tasks.rule_routes import RuleController

MANAGERS = [requires_role(Role.ADMIN, Role.BRANCH_HEAD)]
STAFF = [requires_role(Role.RM, Role.BRANCH_HEAD)]
HEADS = [requires_role(Role.BRANCH_HEAD)]
RM = [requires_role(Role.RM)]
ADMIN = [requires_role(Role.ADMIN)]
_TASK_MOVED_ON = (
    "The task is not in a state that allows this (`task.illegal_transition`, with `current_status`)"
)
_FORM_ERRORS = (
    "Invalid body, a form that does not hold together (`template.invalid_form`) or a recurrence "
    "rule that is not a supported RRULE (`template.bad_recurrence`), with `errors[]`"
)


def _settings(request: Request[Any, Any, Any]) -> Any:
    return request.app.state.settings


def _ip(request: Request[Any, Any, Any]) -> str:
    """The caller's address for the audit trail (relay headers believed from trusted proxies)."""
    return request_ip(request)


class TemplateController(Controller):
    path = "/api/v1/task-templates"
    tags = ["tasks"]

    @post(
        "",
        operation_id="createTaskTemplate",
        guards=MANAGERS,
        opt={
            ERRORS: {
                404: "`owner_unit_id` is unknown or outside my subtree (`org_unit.not_found`)",
                422: _FORM_ERRORS,
            }
        },
    )
    async def create(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        caller: CurrentCaller,
        data: JSONBody[wire.TemplateCreate],
    ) -> wire.Template:
        """Create a task template: a typed form, SLA, reminders, recurrence, confirmation.

        Field types: `text`, `number`, `date`, `choice`, `multi_choice`, `photo`, `location`,
        `signature`, `customer`. `recurrence` is an RRULE such as `FREQ=WEEKLY;BYDAY=MO` (in the
        bank's time zone). The template belongs to `owner_unit_id` (default: my unit) and is
        visible to that unit's subtree and the units above it.
        """
        return await templates.create(
            db, caller=caller, request=data, client_ip=_ip(request),
            tz=_settings(request).bank_timezone,
        )  # fmt: skip

    @get("", operation_id="listTaskTemplates")
    async def list_templates(
        self,
        db: Db,
        caller: CurrentCaller,
        limit: Limit = DEFAULT_LIMIT,
        cursor: FromQuery[str | None] = None,
        array: BareArray = False,
    ) -> Page[wire.Template] | list[wire.Template]:
        """The task templates I can use, at their current versions, by name.

        A page as every list answers: `{"items": [...], "next_cursor": "..." | null}`; pass
        `next_cursor` back as `cursor` for the next page. Deprecated: `array=true` answers the
        form of earlier versions of this API, every template in a bare JSON array (`limit` and
        `cursor` do not apply); it will be removed once no app in use sends it.
        """
        if array:
            return await templates.list_visible(db, caller=caller)
        return await templates.page_visible(db, caller=caller, cursor=cursor, limit=limit)

    @get("/{template_id:uuid}", operation_id="getTaskTemplate")
    async def get_template(
        self,
        db: Db,
        caller: CurrentCaller,
        template_id: FromPath[uuid.UUID],
        version: Annotated[int | None, QueryParameter(ge=1, le=2**31 - 1)] = None,
    ) -> wire.Template:
        """A task template, at its current version or at a given one."""
        return await templates.get(db, caller=caller, template_id=template_id, version=version)

    @put(
        "/{template_id:uuid}",
        operation_id="editTaskTemplate",
        guards=MANAGERS,
        opt={ERRORS: {422: _FORM_ERRORS}},
    )
    async def edit(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        caller: CurrentCaller,
        template_id: FromPath[uuid.UUID],
        data: JSONBody[wire.TemplateCreate],
    ) -> wire.Template:
        """Edit a task template: a new version.

        Tasks already issued keep the form of the version they were issued with.
        """
        return await templates.new_version(
            db, caller=caller, template_id=template_id, request=data, client_ip=_ip(request),
            tz=_settings(request).bank_timezone,
        )  # fmt: skip


class DispatchController(Controller):
    path = "/api/v1/dispatches"
    tags = ["tasks"]

    @post(
        "",
        operation_id="dispatchTasks",
        guards=MANAGERS,
        request_max_body_size=8_000_000,
        opt={
            ERRORS: {
                400: "Neither or both of `org_unit_id` and `customer_ids` "
                "(`dispatch.target_required`), or a recurring template whose rule has no period "
                "left (`dispatch.recurrence_ended`)",
                404: "The template, or `org_unit_id`, is unknown or outside my subtree "
                "(`template.not_found`, `org_unit.not_found`)",
                409: "This `Idempotency-Key` was used for a different dispatch "
                "(`dispatch.idempotency_key_reused`)",
                422: "Invalid body or an empty `Idempotency-Key`; a `title` that shows nothing or "
                "holds control, line-break or direction characters (`request.validation_failed`, "
                "`$.title`); a due time already passed "
                "(`task.due_in_past`) or beyond the years 2000-2999 (`task.due_out_of_range`); "
                "`due_at` for a recurring template (`dispatch.due_at_not_applicable`) or "
                "`per_rm_cap` with `org_unit_id` (`dispatch.per_rm_cap_not_applicable`); a "
                "template not visible to a unit the dispatch reaches "
                "(`dispatch.template_not_visible`, naming the unit, with `errors[]` at "
                "`$.template_id` and `$.org_unit_id` or `$.customer_ids`)",
            }
        },
    )
    async def dispatch(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        caller: CurrentCaller,
        data: JSONBody[wire.DispatchCreate],
        idempotency_key: Annotated[
            str | None, HeaderParameter(name="Idempotency-Key", min_length=1, max_length=200)
        ] = None,
    ) -> wire.Dispatch:
        """Dispatch tasks: one per RM of a subtree, or one per customer for its RM.

        With `org_unit_id`, every active RM of that subtree gets one task; with `customer_ids`,
        each customer's owning RM gets one per customer, at most `per_rm_cap` per RM in the order
        given. The answer counts `created`, `skipped` (over the cap) and `not_found` (unknown or
        outside my scope). `due_at` (a time to come; without an offset it is UTC) defaults to the
        template's SLA; a recurring template's tasks are due at the end of each period.
        Resending with the same `Idempotency-Key` (non-empty) creates nothing again. Every unit
        reached (each unit of the subtree, or the unit of each customer's RM) must see the
        template: it is owned on that unit's path to the head office, or below it.

        A recurring template starts a series on its rule's calendar periods in the bank's time
        zone (without BYDAY/BYMONTHDAY: `FREQ=WEEKLY` runs Monday to Monday, `FREQ=MONTHLY` the
        1st to the 1st, `FREQ=YEARLY` Jan 1 to Jan 1), starting with the period under way. Each
        later period's tasks take the template's version of that time (for an RM whose unit no
        longer sees the template, e.g. moved since: the version dispatched); end the series with
        `POST /api/v1/dispatches/{id}/end`.
        """
        return await dispatching.dispatch(
            db, caller=caller, request=data, idempotency_key=idempotency_key,
            tz=_settings(request).bank_timezone, client_ip=_ip(request),
        )  # fmt: skip

    @get("", operation_id="listDispatches", guards=MANAGERS)
    async def list_dispatches(
        self,
        db: Db,
        caller: CurrentCaller,
        limit: Limit = DEFAULT_LIMIT,
        cursor: FromQuery[str | None] = None,
    ) -> Page[dispatch_wire.DispatchSummary]:
        """Dispatches I can see, newest first.

        An admin sees every dispatch; a branch head those to units of their subtree and the
        customer lists dispatched from inside it. Each says whether it is a recurring series and
        when it was ended (`ended_at`).
        """
        return await dispatching.list_dispatches(db, caller=caller, cursor=cursor, limit=limit)

    @post(
        "/{dispatch_id:uuid}/end",
        operation_id="endDispatch",
        guards=MANAGERS,
        status_code=HTTP_200_OK,
        opt={
            ERRORS: {
                404: "No such dispatch, or not within my subtree (`dispatch.not_found`)",
                409: "A one-off dispatch has no series to end (`dispatch.not_recurring`)",
            }
        },
    )
    async def end(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        caller: CurrentCaller,
        dispatch_id: FromPath[uuid.UUID],
    ) -> dispatch_wire.DispatchSummary:
        """End a recurring series: no further periods.

        Neither the worker nor a finished task opens a new period of the series from now on;
        the tasks already issued stay open (cancel them one by one if need be). Ending it again
        answers the same `ended_at`. An admin, or a branch head for a dispatch within their
        subtree.
        """
        return await dispatching.end(
            db, caller=caller, dispatch_id=dispatch_id, client_ip=_ip(request)
        )


@dataclass
class AttachmentUpload:
    file: UploadFile
    kind: str = "photo"
    client_ref: str | None = None
    taken_at: str | None = None


class TaskController(Controller):
    path = "/api/v1/tasks"
    tags = ["tasks"]

    @get("", operation_id="listTasks", guards=STAFF)
    async def inbox(
        self,
        db: Db,
        caller: CurrentCaller,
        status: FromQuery[wire.TaskStatus | None] = None,
        due_after: FromQuery[datetime | None] = None,
        due_before: FromQuery[datetime | None] = None,
        limit: Limit = DEFAULT_LIMIT,
        cursor: FromQuery[str | None] = None,
    ) -> Page[wire.TaskSummary]:
        """My task inbox: open tasks, overdue first, then by due time.

        A branch head sees the tasks of their subtree. Filter by `status` and a due-time window.
        """
        return await lifecycle.inbox(
            db, caller=caller, status=status, due_after=due_after, due_before=due_before,
            cursor=cursor, limit=limit,
        )  # fmt: skip

    @get("/{task_id:uuid}", operation_id="getTask", guards=STAFF)
    async def detail(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        caller: CurrentCaller,
        task_id: FromPath[uuid.UUID],
    ) -> wire.Task:
        """A task, with the form of its template version and the submitted values."""
        return await lifecycle.detail(
            db, vault=request.app.state.vault, caller=caller, task_id=task_id
        )

    @post(
        "/{task_id:uuid}/start",
        operation_id="startTask",
        guards=RM,
        status_code=HTTP_200_OK,
        opt={ERRORS: {409: _TASK_MOVED_ON}},
    )
    async def start(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        caller: CurrentCaller,
        task_id: FromPath[uuid.UUID],
    ) -> wire.Task:
        """Start a task (pending → in_progress)."""
        return await lifecycle.start(
            db, vault=request.app.state.vault, caller=caller, task_id=task_id
        )

    @post(
        "/{task_id:uuid}/submit",
        operation_id="submitTask",
        guards=RM,
        status_code=HTTP_200_OK,
        opt={
            ERRORS: {
                409: _TASK_MOVED_ON,
                422: "Invalid body, or answers that do not fit the task's form "
                "(`task.invalid_submission`, with `errors[].path` such as `$.values.amount`)",
            }
        },
    )
    async def submit(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        caller: CurrentCaller,
        task_id: FromPath[uuid.UUID],
        data: JSONBody[wire.Submission],
    ) -> wire.Task:
        """Submit a task's form.

        `values` holds one answer per form field key, checked against the form version the task
        was issued with; photos and signatures are attachment ids (upload them first). A task
        that needs the customer's confirmation then awaits it; any other is done.
        """
        return await lifecycle.submit(
            db, vault=request.app.state.vault, caller=caller, task_id=task_id, submission=data,
            tz=_settings(request).bank_timezone,
        )  # fmt: skip

    @patch(
        "/{task_id:uuid}",
        operation_id="rescheduleTask",
        guards=STAFF,
        status_code=HTTP_200_OK,
        opt={
            ERRORS: {
                409: _TASK_MOVED_ON,
                422: "Invalid body, or a due time that has already passed (`task.due_in_past`)",
            }
        },
    )
    async def reschedule(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        caller: CurrentCaller,
        task_id: FromPath[uuid.UUID],
        data: JSONBody[wire.Reschedule],
    ) -> wire.Task:
        """Move an open task's due time.

        Its reminders move with it. The RM, or their branch head.
        """
        return await lifecycle.reschedule(
            db, vault=request.app.state.vault, caller=caller, task_id=task_id, due_at=data.due_at
        )

    @post(
        "/{task_id:uuid}/cancel",
        operation_id="cancelTask",
        guards=STAFF,
        status_code=HTTP_200_OK,
        opt={ERRORS: {409: _TASK_MOVED_ON}},
    )
    async def cancel(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        caller: CurrentCaller,
        task_id: FromPath[uuid.UUID],
        data: JSONBody[wire.Cancellation | None] = None,
    ) -> wire.Task:
        """Cancel an open task.

        The RM, or their branch head; the body (an optional `reason`) may be left out.
        """
        reason = data.reason if data else None
        return await lifecycle.cancel(
            db, vault=request.app.state.vault, caller=caller, task_id=task_id, reason=reason
        )

    @post(
        "/{task_id:uuid}/reassign",
        operation_id="reassignTask",
        guards=HEADS,
        status_code=HTTP_200_OK,
        opt={
            ERRORS: {
                404: "No such task in my subtree (`task.not_found`), or `assignee_id` is no user "
                "of my subtree (`user.not_found`)",
                409: "The task is neither pending nor in progress (`task.illegal_transition`, "
                "with `current_status`); `assignee_id` is disabled or not an RM "
                "(`task.assignee_not_active_rm`); the task is about a customer that RM does "
                "not own (`task.customer_not_theirs`); that RM already has this recurring "
                "series' task of the same customer and period (`task.period_taken`)",
            }
        },
    )
    async def reassign(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        caller: CurrentCaller,
        task_id: FromPath[uuid.UUID],
        data: JSONBody[wire.Reassignment],
    ) -> wire.Task:
        """Hand a task to another RM of my subtree (branch heads).

        A pending or started task goes to `assignee_id`, an active RM of my subtree, as a
        pending task (a started one's start, and the draft on its former RM's phone, no longer
        count). A task about a customer can only go to the RM who owns that customer now
        (customers move with the bank's feed). Its reminders follow it, and the new RM is
        notified. Reassigning to the current assignee changes nothing.
        """
        return await reassign.reassign(
            db, vault=request.app.state.vault, caller=caller, task_id=task_id,
            assignee_id=data.assignee_id,
            tz=_settings(request).bank_timezone, client_ip=_ip(request),
        )  # fmt: skip

    @post(
        "/{task_id:uuid}/attachments",
        operation_id="attachToTask",
        guards=RM,
        status_code=HTTP_201_CREATED,
        request_max_body_size=20_000_000,
        responses={
            200: ResponseSpec(
                data_container=wire.Attachment,
                description="The attachment I uploaded before under this `client_ref` (or key)",
                generate_examples=False,
            )
        },
        opt={
            ERRORS: {
                400: "Not a readable multipart/form-data upload (`request.invalid`)",
                409: _TASK_MOVED_ON + "; `client_ref` (or the `Idempotency-Key`) was used for "
                "another file, kind or task (`attachment.client_ref_reused`)",
                413: "The upload is larger than the server accepts (`request.too_large`)",
                422: "Not an acceptable image: `attachment.not_an_image`, "
                "`attachment.format_not_allowed`, `attachment.too_large` (bytes or pixels), "
                "`attachment.bad_kind`; `client_ref` not a UUID (`attachment.bad_client_ref`)",
            }
        },
    )
    async def attach(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        caller: CurrentCaller,
        task_id: FromPath[uuid.UUID],
        data: Annotated[AttachmentUpload, Body(media_type=RequestEncodingType.MULTI_PART)],
        idempotency_key: Annotated[
            str | None, HeaderParameter(name="Idempotency-Key", min_length=1, max_length=200)
        ] = None,
    ) -> Response[wire.Attachment]:
        """Upload a photo or signature for a task's form.

        Multipart form data: `file` (JPEG, PNG or WEBP) and `kind` (`photo` or `signature`).
        Images above 40 megapixels are refused before decoding; EXIF and GPS data are stripped,
        the image is resized to 2048 px and photos are stamped with the RM, the customer's masked
        ID number and the time it was taken. Put the answer's `id` into the form value.

        Optional fields: `client_ref`, the app's id (a UUID) for this upload: sending it again
        with the same file (a retry after a lost answer) answers the attachment stored the first
        time with 200 and stores nothing (another file or `kind` under the same ref is 409
        `attachment.client_ref_reused`); an `Idempotency-Key` header does the same when there is
        no `client_ref`. `taken_at`, when the photo was taken (ISO 8601 with its offset): a photo
        taken offline is stamped with that time if it is in the past, within the offline
        limit (`WORKBENCH_SYNC_OFFLINE_MAX_DAYS`) and not before the task was issued, else with
        the upload's time.
        """
        settings = _settings(request)
        client_ref = attachments.read_client_ref(data.client_ref)
        if client_ref is None and idempotency_key is not None:
            client_ref = attachments.client_ref_for_key(caller, idempotency_key)
        sent = attachments.Upload(
            raw=await data.file.read(), kind=data.kind, client_ref=client_ref,
            taken_at=data.taken_at,
        )  # fmt: skip
        attachment, created = await attachments.upload(
            db, vault=request.app.state.vault, caller=caller, task_id=task_id, sent=sent,
            tz=settings.bank_timezone, max_bytes=settings.max_photo_bytes,
            offline_max_days=settings.sync_offline_max_days,
        )  # fmt: skip
        return Response(attachment, status_code=HTTP_201_CREATED if created else HTTP_200_OK)

    @get(
        "/{task_id:uuid}/attachments/{attachment_id:uuid}",
        operation_id="getTaskAttachment",
        guards=STAFF,
    )
    async def attachment(
        self,
        db: Db,
        caller: CurrentCaller,
        task_id: FromPath[uuid.UUID],
        attachment_id: FromPath[uuid.UUID],
    ) -> Response[bytes]:
        """An uploaded image of a task, as stored (cleaned and watermarked)."""
        content_type, data = await attachments.download(
            db, caller=caller, task_id=task_id, attachment_id=attachment_id
        )
        return Response(data, media_type=content_type, headers={"Cache-Control": "private"})

    @post(
        "/{task_id:uuid}/confirmation",
        operation_id="requestConfirmation",
        guards=RM,
        status_code=HTTP_201_CREATED,
        opt={ERRORS: {409: _TASK_MOVED_ON}},
    )
    async def request_confirmation(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        caller: CurrentCaller,
        task_id: FromPath[uuid.UUID],
        data: JSONBody[wire.ConfirmationRequest | None] = None,
    ) -> wire.Confirmation:
        """A single-use link and QR code for the customer to confirm the visit.

        Show `qr_png_url` to the customer (or send `url`); it expires at `expires_at`. The
        customer's confirm marks the task done and notifies me. With my `location`, a customer
        who shares theirs farther away is flagged.
        """
        settings = _settings(request)
        return await confirmation.request(
            db, vault=request.app.state.vault, caller=caller, task_id=task_id,
            body=data or wire.ConfirmationRequest(), ttl_seconds=settings.confirmation_ttl_seconds,
            base_url=settings.public_base_url,
        )  # fmt: skip

    @get(
        "/{task_id:uuid}/confirmations/{confirmation_id:uuid}/qr.png",
        operation_id="confirmationQrCode",
        guards=RM,
        media_type="image/png",
        opt={
            ERRORS: {
                410: "The link can confirm nothing any more: the customer confirmed with it "
                "(`confirmation.used`), it expired or a newer link of the task replaced it "
                "(`confirmation.expired`), or the task no longer awaits the customer "
                "(`confirmation.closed`); ask for a new confirmation"
            }
        },
    )
    async def qr_code(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        caller: CurrentCaller,
        task_id: FromPath[uuid.UUID],
        confirmation_id: FromPath[uuid.UUID],
    ) -> Response[bytes]:
        """The QR code (PNG) of a confirmation link, to show to the customer."""
        png = await confirmation.qr_png(
            db, vault=request.app.state.vault, caller=caller, task_id=task_id,
            confirmation_id=confirmation_id, base_url=_settings(request).public_base_url,
        )  # fmt: skip
        return Response(png, media_type="image/png", headers={"Cache-Control": "no-store"})


class TeamController(Controller):
    path = "/api/v1/team"
    tags = ["tasks"]

    @get(
        "/progress",
        operation_id="teamProgress",
        guards=MANAGERS,
        opt={
            ERRORS: {
                400: "`to` is not after `from`, or the period spans more than 366 days "
                "(`progress.bad_period`)",
                404: "`org_unit_id` is unknown or outside my subtree (`org_unit.not_found`)",
            }
        },
    )
    async def team_progress(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        caller: CurrentCaller,
        from_: Annotated[
            str,
            QueryParameter(
                name="from",
                pattern=DAY_OR_TIME,
                description=(
                    "Start: a day (`2026-12-01`, from its midnight in the bank's time zone) or an "
                    "RFC 3339 time"
                ),
            ),
        ],
        to: Annotated[
            str,
            QueryParameter(
                pattern=DAY_OR_TIME,
                description=(
                    "End: a day (`2026-12-31`, included: up to the next midnight) or an RFC 3339 "
                    "time (excluded)"
                ),
            ),
        ],
        org_unit_id: FromQuery[uuid.UUID | None] = None,
    ) -> wire.TeamProgress:
        """Team progress over a period, per RM of a subtree.

        Assigned, done, overdue, completion rate and median hours to done, for the tasks created
        from `from` until `to`, in my subtree or in `org_unit_id`'s within it.
        """
        start, end = bounded_period(from_, to, tz=_settings(request).bank_timezone)
        return await progress.team_progress(
            db, caller=caller, org_unit_id=org_unit_id, start=start, end=end
        )


ROUTES = [TemplateController, DispatchController, TaskController, TeamController, RuleController]
