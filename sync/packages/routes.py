"""Offline package routes: upload and list (admins), public keys, download (Range and ETag).

The gray release and `latest` routes live in releases_routes, the media packs in media_routes;
both are included here, so the app registers this module's ROUTES once.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, head, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.exceptions import ValidationException
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Body, FromPath, FromQuery
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from mobile_contracts.v1 import offline_packages as wire
from mobile_contracts.v1.common import Page
from mobile_contracts.v1.identity import Role
from sync.packages import archive, diffs, media, media_routes, queries, releases_routes
from sync.packages.serving import serve_package
from sync.packages.store import (
    DEFAULT_EXPIRES_DAYS,
    app_version_problem,
    h5_app_id_problem,
    package_signer,
    package_view,
    store_upload,
)
from workbench.access import requires_role
from workbench.access.caller import Caller
from workbench.audit import queries as audit
from workbench.db import Connection
from workbench.errors import NotFound
from workbench.http.auth import PUBLIC
from workbench.http.client_ip import request_ip
from workbench.http.deps import CurrentCaller, Db
from workbench.http.input_checks import refuse_unstorable_input
from workbench.http.openapi import ERRORS, file_responses
from workbench.pagination import (
    DEFAULT_LIMIT,
    BareArray,
    Limit,
    decode_cursor,
    keyset_page,
)
from workbench.settings import Settings

ADMINS = [requires_role(Role.ADMIN)]
MAX_EXPIRES_DAYS = 3650
_UNSAFE = (
    "The zip is refused (`package.unsafe`, with `reason`: not_a_zip, outside_root, "
    "absolute_path, bad_path, symlink, special_file, duplicate_name, encrypted, too_many_files, "
    "too_large, ratio, compression, corrupt, manifest_mismatch, empty; and `path` where one is "
    "to blame); nothing is stored and the current release is untouched"
)


def archive_limits(settings: Settings) -> archive.ArchiveLimits:
    return archive.ArchiveLimits(
        max_files=settings.offline_package_max_files,
        max_unpacked_bytes=settings.offline_package_max_unpacked_bytes,
        max_ratio=settings.offline_package_max_ratio,
    )


async def _check_upload_form(request: Request[Any, Any, Any]) -> None:
    """The upload's before_request hook (it replaces the app-wide one, so it runs that first):
    a body that is no multipart form has no `file` part, which 422 names (not Litestar's bare
    400 "Invalid multipart/form-data", as for a form sent URL-encoded)."""
    await refuse_unstorable_input(request)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "multipart/form-data":
        raise _invalid("file", "required (a multipart/form-data body with the zip as `file`)")


# What a download answers besides the whole file (200).
_DOWNLOAD_RESPONSES = file_responses("application/zip", "file")


@dataclass
class PackageUpload:
    """Multipart form data: `file` (a zip of H5 resources), `app_id`, `min_app_version`, and
    optionally `expires_days`."""

    file: UploadFile
    app_id: str
    min_app_version: str
    expires_days: int | None = None


class AdminPackagesController(Controller):
    path = "/api/v1/admin/offline-packages"
    tags = ["offline packages"]
    guards = ADMINS

    @post(
        "",
        operation_id="uploadOfflinePackage",
        status_code=HTTP_201_CREATED,
        request_max_body_size=220_000_000,
        before_request=_check_upload_form,
        responses={
            200: ResponseSpec(
                data_container=wire.OfflinePackage,
                description="The app id's latest version, which already holds these files with "
                "this `min_app_version` and `expires_days` and has not expired; nothing is stored",
                generate_examples=False,
            )
        },
        opt={ERRORS: {422: _UNSAFE}},
    )
    async def upload(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        caller: CurrentCaller,
        data: Annotated[PackageUpload, Body(media_type=RequestEncodingType.MULTI_PART)],
    ) -> Response[wire.OfflinePackage]:
        """Upload a zip of H5 resources as the app id's next package version.

        The server lists and hashes every file, assigns the next version (versions only go up
        per app id), signs the manifest with the current key and stores the package file (201).
        It is not released to anyone until a release says so. The same upload again (the same
        files, `min_app_version` and `expires_days` as the app id's latest version, not expired)
        answers that package with 200 and stores nothing, also when sent several times at once;
        the files of an older version are a new version (how a rollback by upload is made).
        """
        settings: Settings = request.app.state.settings
        app_id, min_app_version = data.app_id.strip(), data.min_app_version.strip()
        if problem := h5_app_id_problem(app_id):
            raise _invalid("app_id", problem)
        if problem := app_version_problem(min_app_version):
            raise _invalid("min_app_version", problem)
        days = data.expires_days
        if days is not None and not 1 <= days <= MAX_EXPIRES_DAYS:
            raise _invalid("expires_days", f"between 1 and {MAX_EXPIRES_DAYS}")
        if not isinstance(data.file, UploadFile):
            raise _invalid("file", "a zip file")
        # Unzipping, hashing and checking up to 200 MB takes seconds: off the event loop, which
        # goes on serving every other request (store_upload deflates the package off it too).
        raw = await data.file.read()
        files = await asyncio.to_thread(archive.read_upload, raw, archive_limits(settings))
        del raw
        row, created = await store_upload(
            db,
            request.app.state.blobs,
            package_signer(settings),
            app_id=app_id,
            kind="h5",
            files=files,
            min_app_version=min_app_version,
            now=datetime.now(UTC),
            expires_in=timedelta(days=days or DEFAULT_EXPIRES_DAYS),
            created_by=caller.user_id,
        )
        if created:  # new code signed with the bank's key for every device: audited
            await audit.record(
                db,
                action="offline_package.upload",
                actor_id=caller.user_id,
                subject=f"offline_package:{row['id']}",
                client_ip=request_ip(request),
                detail={
                    "app_id": row["app_id"],
                    "version": row["version"],
                    "sha256": row["sha256"],
                    "files": len(row["manifest"]["files"]),
                    "min_app_version": row["min_app_version"],
                },
            )
        return Response(package_view(row), status_code=HTTP_201_CREATED if created else HTTP_200_OK)

    @get("", operation_id="listOfflinePackages")
    async def list_packages(
        self,
        db: Db,
        app_id: FromQuery[str | None] = None,
        limit: Limit = DEFAULT_LIMIT,
        cursor: FromQuery[str | None] = None,
        array: BareArray = False,
    ) -> Page[wire.OfflinePackage] | list[wire.OfflinePackage]:
        """H5 packages, newest first, of one app id or all.

        A page as every list answers: `{"items": [...], "next_cursor": "..." | null}`; pass
        `next_cursor` back as `cursor` for the next page. Deprecated: `array=true` answers the
        form of earlier versions of this API, the latest 100 in a bare JSON array (`limit` and
        `cursor` do not apply); it will be removed once no client in use sends it.
        """
        if array:
            return [package_view(r) for r in await queries.list_packages(db, app_id=app_id)]
        before = decode_cursor(cursor, tuple[datetime, uuid.UUID])
        rows = await queries.list_packages(db, app_id=app_id, limit=limit + 1, before=before)
        kept, next_cursor = keyset_page(rows, limit, lambda r: [r["created_at"], r["id"]])
        return Page(items=[package_view(r) for r in kept], next_cursor=next_cursor)


class PackagesController(Controller):
    path = "/api/v1/offline-packages"
    tags = ["offline packages"]

    @get("/keys", operation_id="offlinePackageKeys", opt={PUBLIC: True})
    async def keys(self, request: Request[Any, Any, Any]) -> wire.PackageKeys:
        """Every public key a package may be signed with (old ones stay after a rotation)."""
        signer = package_signer(request.app.state.settings)
        return wire.PackageKeys(
            keys=[
                wire.PackageKey(key_id=k.key_id, public_key=k.public_key, alg=k.alg)
                for k in signer.keys_document()
            ]
        )

    @get("/{package_id:uuid}/download", operation_id="downloadOfflinePackage",
         responses=_DOWNLOAD_RESPONSES,
         opt={ERRORS: {404: "No such package, or a media pack of another RM",
                       416: "The byte range lies past the end of the file"}})  # fmt: skip
    async def download(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        caller: CurrentCaller,
        package_id: FromPath[uuid.UUID],
    ) -> Response[Any]:
        """The package file (a zip), resumable with Range.

        `Range: bytes=a-b | a- | -n` answers 206 with `Content-Range` (with `If-Range` naming
        the ETag); the ETag is the file's SHA-256, so `If-None-Match` answers 304 when the app
        already has it."""
        return await _download(request, db, caller, package_id)

    @head("/{package_id:uuid}/download", include_in_schema=False)
    async def download_head(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        caller: CurrentCaller,
        package_id: FromPath[uuid.UUID],
    ) -> Response[None]:
        """What GET would answer, without the body: download managers ask the size, the ETag
        and range support (Content-Length, ETag, Accept-Ranges) before they resume."""
        return await _download(request, db, caller, package_id)


async def _download(
    request: Request[Any, Any, Any], db: Connection, caller: Caller, package_id: uuid.UUID
) -> Response[Any]:
    """A media pack is only for its owner, while they are an active RM (`media`)."""
    row = await media.package_for_download(db, package_id=package_id, user_id=caller.user_id)
    if row is None:
        raise NotFound("offline_package")
    return await serve_package(
        request, request.app.state.blobs, row["blob_key"], sha256=row["sha256"]
    )


def _invalid(key: str, message: str) -> ValidationException:
    return ValidationException(extra=[{"key": key, "message": message}])


ROUTES: list[Any] = [
    AdminPackagesController,
    PackagesController,
    *releases_routes.ROUTES,
    *media_routes.ROUTES,
    *diffs.ROUTES,
]
