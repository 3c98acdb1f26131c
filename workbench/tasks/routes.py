"""Task inbox endpoints: templates, dispatches, the RM's tasks, confirmation, rules, progress."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, patch, post, put
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import (
    Body,
    FromPath,
    FromQuery,
    HeaderParameter,
    JSONBody,
    QueryParameter,
)
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from mobile_contracts.v1 import tasks as wire
from mobile_contracts.v1.common import Page
from mobile_contracts.v1.identity import Role
from workbench.access import requires_role
from workbench.http.deps import CurrentCaller, Db
from workbench.http.problems import PROBLEM_RESPONSES
from workbench.pagination import DEFAULT_LIMIT, MAX_LIMIT
from workbench.tasks import (
    attachments,
    confirmation,
    dispatching,
    lifecycle,
    progress,
    rules,
    templates,
)

Limit = Annotated[int, QueryParameter(ge=1, le=MAX_LIMIT)]
MANAGERS = [requires_role(Role.ADMIN, Role.BRANCH_HEAD)]
STAFF = [requires_role(Role.RM, Role.BRANCH_HEAD)]
RM = [requires_role(Role.RM)]
ADMIN = [requires_role(Role.ADMIN)]
R = PROBLEM_RESPONSES


def _settings(request: Request[Any, Any, Any]) -> Any:
    return request.app.state.settings


class TemplateController(Controller):
    path = "/api/v1/task-templates"
    tags = ["tasks"]

    @post("", responses=R, operation_id="createTaskTemplate", guards=MANAGERS)
    async def create(
        self, db: Db, caller: CurrentCaller, data: JSONBody[wire.TemplateCreate]
    ) -> wire.Template:
        """A template with a typed form, SLA, reminders, recurrence and confirmation flag."""
        return await templates.create(db, caller=caller, request=data)

    @get("", responses=R, operation_id="listTaskTemplates")
    async def list_templates(self, db: Db, caller: CurrentCaller) -> list[wire.Template]:
        """Templates I can use (current versions)."""
        return await templates.list_visible(db, caller=caller)

    @get("/{template_id:uuid}", responses=R, operation_id="getTaskTemplate")
    async def get_template(
        self,
        db: Db,
        caller: CurrentCaller,
        template_id: FromPath[uuid.UUID],
        version: Annotated[int | None, QueryParameter(ge=1)] = None,
    ) -> wire.Template:
        """A template, at its current or a given version."""
        return await templates.get(db, caller=caller, template_id=template_id, version=version)

    @put("/{template_id:uuid}", responses=R, operation_id="editTaskTemplate", guards=MANAGERS)
    async def edit(
        self,
        db: Db,
        caller: CurrentCaller,
        template_id: FromPath[uuid.UUID],
        data: JSONBody[wire.TemplateCreate],
    ) -> wire.Template:
        """A new version of the template; tasks already issued keep theirs."""
        return await templates.new_version(db, caller=caller, template_id=template_id, request=data)


class DispatchController(Controller):
    path = "/api/v1/dispatches"
    tags = ["tasks"]

    @post("", responses=R, operation_id="dispatchTasks", guards=MANAGERS,
          request_max_body_size=8_000_000)  # fmt: skip
    async def dispatch(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        caller: CurrentCaller,
        data: JSONBody[wire.DispatchCreate],
        idempotency_key: Annotated[
            str | None, HeaderParameter(name="Idempotency-Key", max_length=200)
        ] = None,
    ) -> wire.Dispatch:
        """Tasks for every RM of a subtree, or per customer for its RM (capped per RM).
        Resending with the same Idempotency-Key creates nothing again."""
        return await dispatching.dispatch(
            db, caller=caller, request=data, idempotency_key=idempotency_key,
            tz=_settings(request).bank_timezone,
        )  # fmt: skip


@dataclass
class AttachmentUpload:
    file: UploadFile
    kind: str = "photo"


class TaskController(Controller):
    path = "/api/v1/tasks"
    tags = ["tasks"]

    @get("", responses=R, operation_id="listTasks", guards=STAFF)
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
        """My open tasks (branch head: my subtree's), overdue first, then by due time."""
        return await lifecycle.inbox(
            db, caller=caller, status=status, due_after=due_after, due_before=due_before,
            cursor=cursor, limit=limit,
        )  # fmt: skip

    @get("/{task_id:uuid}", responses=R, operation_id="getTask", guards=STAFF)
    async def detail(
        self, db: Db, caller: CurrentCaller, task_id: FromPath[uuid.UUID]
    ) -> wire.Task:
        """A task with the form of its template version and the submitted values."""
        return await lifecycle.detail(db, caller=caller, task_id=task_id)

    @post("/{task_id:uuid}/start", responses=R, operation_id="startTask", guards=RM,
          status_code=HTTP_200_OK)  # fmt: skip
    async def start(self, db: Db, caller: CurrentCaller, task_id: FromPath[uuid.UUID]) -> wire.Task:
        """pending → in_progress."""
        return await lifecycle.start(db, caller=caller, task_id=task_id)

    @post("/{task_id:uuid}/submit", responses=R, operation_id="submitTask", guards=RM,
          status_code=HTTP_200_OK)  # fmt: skip
    async def submit(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        caller: CurrentCaller,
        task_id: FromPath[uuid.UUID],
        data: JSONBody[wire.Submission],
    ) -> wire.Task:
        """Submit the form (checked against the task's form version; 422 lists each field)."""
        return await lifecycle.submit(
            db, vault=request.app.state.vault, caller=caller, task_id=task_id, submission=data,
            tz=_settings(request).bank_timezone,
        )  # fmt: skip

    @patch("/{task_id:uuid}", responses=R, operation_id="rescheduleTask", guards=STAFF,
           status_code=HTTP_200_OK)  # fmt: skip
    async def reschedule(
        self,
        db: Db,
        caller: CurrentCaller,
        task_id: FromPath[uuid.UUID],
        data: JSONBody[wire.Reschedule],
    ) -> wire.Task:
        """Move an open task's due time; its reminders move with it."""
        return await lifecycle.reschedule(db, caller=caller, task_id=task_id, due_at=data.due_at)

    @post("/{task_id:uuid}/cancel", responses=R, operation_id="cancelTask", guards=STAFF,
          status_code=HTTP_200_OK)  # fmt: skip
    async def cancel(
        self,
        db: Db,
        caller: CurrentCaller,
        task_id: FromPath[uuid.UUID],
        data: JSONBody[wire.Cancellation | None] = None,
    ) -> wire.Task:
        """Cancel an open task (the RM, or their branch head)."""
        reason = data.reason if data else None
        return await lifecycle.cancel(db, caller=caller, task_id=task_id, reason=reason)

    @post("/{task_id:uuid}/attachments", responses=R, operation_id="attachToTask", guards=RM,
          status_code=HTTP_201_CREATED, request_max_body_size=20_000_000)  # fmt: skip
    async def attach(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        caller: CurrentCaller,
        task_id: FromPath[uuid.UUID],
        data: Annotated[AttachmentUpload, Body(media_type=RequestEncodingType.MULTI_PART)],
    ) -> wire.Attachment:
        """Upload a photo or signature (JPEG/PNG/WEBP; cleaned, resized and watermarked)."""
        settings = _settings(request)
        return await attachments.upload(
            db, vault=request.app.state.vault, caller=caller, task_id=task_id,
            kind=data.kind, raw=await data.file.read(), tz=settings.bank_timezone,
            max_bytes=settings.max_photo_bytes,
        )  # fmt: skip

    @get("/{task_id:uuid}/attachments/{attachment_id:uuid}", responses=R,
         operation_id="getTaskAttachment", guards=STAFF)  # fmt: skip
    async def attachment(
        self,
        db: Db,
        caller: CurrentCaller,
        task_id: FromPath[uuid.UUID],
        attachment_id: FromPath[uuid.UUID],
    ) -> Response[bytes]:
        """The stored (cleaned, watermarked) image."""
        content_type, data = await attachments.download(
            db, caller=caller, task_id=task_id, attachment_id=attachment_id
        )
        return Response(data, media_type=content_type, headers={"Cache-Control": "private"})

    @post("/{task_id:uuid}/confirmation", responses=R, operation_id="requestConfirmation",
          guards=RM, status_code=HTTP_201_CREATED)  # fmt: skip
    async def request_confirmation(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        caller: CurrentCaller,
        task_id: FromPath[uuid.UUID],
        data: JSONBody[wire.ConfirmationRequest | None] = None,
    ) -> wire.Confirmation:
        """A single-use link (and QR code) for the customer to confirm the visit."""
        settings = _settings(request)
        return await confirmation.request(
            db, keyring=request.app.state.auth.keyring, caller=caller, task_id=task_id,
            body=data or wire.ConfirmationRequest(), ttl_seconds=settings.confirmation_ttl_seconds,
            base_url=settings.public_base_url,
        )  # fmt: skip

    @get("/{task_id:uuid}/confirmations/{confirmation_id:uuid}/qr.png", responses=R,
         operation_id="confirmationQrCode", guards=RM, media_type="image/png")  # fmt: skip
    async def qr_code(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        caller: CurrentCaller,
        task_id: FromPath[uuid.UUID],
        confirmation_id: FromPath[uuid.UUID],
    ) -> Response[bytes]:
        """The QR code of the confirmation link, to show to the customer."""
        png = await confirmation.qr_png(
            db, keyring=request.app.state.auth.keyring, caller=caller, task_id=task_id,
            confirmation_id=confirmation_id, base_url=_settings(request).public_base_url,
        )  # fmt: skip
        return Response(png, media_type="image/png", headers={"Cache-Control": "no-store"})


class TeamController(Controller):
    path = "/api/v1/team"
    tags = ["tasks"]

    @get("/progress", responses=R, operation_id="teamProgress", guards=MANAGERS)
    async def team_progress(
        self,
        db: Db,
        caller: CurrentCaller,
        from_: Annotated[datetime, QueryParameter(name="from")],
        to: FromQuery[datetime],
        org_unit_id: FromQuery[uuid.UUID | None] = None,
    ) -> wire.TeamProgress:
        """Per RM of a subtree: assigned, done, overdue, completion rate, median hours to done."""
        return await progress.team_progress(
            db, caller=caller, org_unit_id=org_unit_id, start=from_, end=to
        )


class RuleController(Controller):
    path = "/api/v1"
    tags = ["tasks"]
    guards = ADMIN

    @post("/task-rules", responses=R, operation_id="createTaskRule")
    async def create_rule(
        self, db: Db, caller: CurrentCaller, data: JSONBody[wire.TaskRuleCreate]
    ) -> wire.TaskRule:
        """When an event matches, create a task for the customer's RM (once per window)."""
        return await rules.create_rule(db, caller=caller, request=data)

    @get("/task-rules", responses=R, operation_id="listTaskRules")
    async def list_rules(self, db: Db) -> list[wire.TaskRule]:
        """Every event rule."""
        return await rules.list_rules(db)

    @post("/integration/events", responses=R, operation_id="ingestEvents",
          status_code=HTTP_200_OK, request_max_body_size=16_000_000)  # fmt: skip
    async def ingest(self, db: Db, data: JSONBody[wire.EventBatch]) -> wire.EventResult:
        """Events from the bank's data platform; matching rules create tasks."""
        return await rules.ingest(db, events=data.events)


ROUTES = [TemplateController, DispatchController, TaskController, TeamController, RuleController]
