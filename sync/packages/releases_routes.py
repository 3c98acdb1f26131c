"""Gray releases and rollback of offline packages (admin); the app's `latest` and install
reports."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK

from mobile_contracts.v1 import offline_releases as wire
from mobile_contracts.v1.identity import Role
from mobile_contracts.v1.patterns import whole
from sync.packages import releases, updates
from sync.packages.store import package_signer
from workbench.access import requires_role
from workbench.http.client_ip import request_ip
from workbench.http.deps import CurrentCaller, Db
from workbench.http.openapi import ERRORS

ADMIN_PATH = "/api/v1/admin/offline-packages"
APP_PATH = "/api/v1/offline-packages"
_NOT_FOUND = {404: "No H5 package with that id (`offline_package.not_found`)"}
_MOVE_ERRORS = {
    404: "No release of that package (`offline_release.not_found`)",
    409: "The release is not in a state that allows this (`offline_release.state`)",
}


def package_url(package_id: uuid.UUID) -> str:
    """Where the app downloads a package (Range and ETag)."""
    return f"{APP_PATH}/{package_id}/download"


def _ip(request: Request[Any, Any, Any]) -> str | None:
    return request_ip(request)


class ReleaseController(Controller):
    path = ADMIN_PATH
    tags = ["offline packages"]
    guards = [requires_role(Role.ADMIN)]

    @post(
        "/{package_id:uuid}/release",
        operation_id="releaseOfflinePackage",
        status_code=HTTP_200_OK,
        opt={
            ERRORS: {
                **_NOT_FOUND,
                409: "The open release has a higher percentage (`offline_release.narrowing`): "
                "a release is only widened; pause it or roll it back instead",
                422: "Invalid body, an unknown org unit or user, or nobody to release to "
                "(`offline_release.invalid`)",
            }
        },
    )
    async def release(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        caller: CurrentCaller,
        package_id: FromPath[uuid.UUID],
        data: JSONBody[wire.ReleaseRequest],
    ) -> wire.Release:
        """Release a package to a sticky percentage of users, org subtrees and listed users.

        On a package whose release is open (active or paused) this widens it: the percentage may
        only go up, and the units and users are added to those already in it. A user in at 10 %
        stays in at 20 %.
        """
        return await releases.release(
            db, caller=caller, package_id=package_id, request=data, client_ip=_ip(request)
        )

    @post(
        "/{package_id:uuid}/pause",
        operation_id="pauseOfflinePackageRelease",
        status_code=HTTP_200_OK,
        opt={ERRORS: _MOVE_ERRORS},
    )
    async def pause(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        caller: CurrentCaller,
        package_id: FromPath[uuid.UUID],
    ) -> wire.Release:
        """Pause the package's active release: latest stops answering it until it is resumed."""
        return await releases.move(
            db, caller=caller, package_id=package_id, action="pause", client_ip=_ip(request)
        )

    @post(
        "/{package_id:uuid}/resume",
        operation_id="resumeOfflinePackageRelease",
        status_code=HTTP_200_OK,
        opt={ERRORS: _MOVE_ERRORS},
    )
    async def resume(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        caller: CurrentCaller,
        package_id: FromPath[uuid.UUID],
    ) -> wire.Release:
        """Resume the package's paused release."""
        return await releases.move(
            db, caller=caller, package_id=package_id, action="resume", client_ip=_ip(request)
        )

    @post(
        "/{package_id:uuid}/rollback",
        operation_id="rollBackOfflinePackageRelease",
        status_code=HTTP_200_OK,
        opt={ERRORS: _MOVE_ERRORS},
    )
    async def rollback(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        caller: CurrentCaller,
        package_id: FromPath[uuid.UUID],
    ) -> wire.RolledBackRelease:
        """Roll the package's release back for good.

        From the next request on, on every API instance, each device this release answered gets
        the files it was answered before, signed again as a higher version (a device never
        accepts a lower version than it has). With a higher release of the app id still open, or
        no earlier release including a device, the rollback only withdraws: `latest` answers
        that device its own package with `current_withdrawn`. The answer is the release, rolled
        back, and what happened: `rolled_forward` (each version issued, with the version whose
        files it carries), or `withdrawn_only` with why (`higher_open_version`, and
        `unreadable_versions` whose files could not be read).
        """
        state = request.app.state
        restorer = releases.Restorer(state.blobs, package_signer(state.settings))
        done = await releases.roll_back(
            db, caller=caller, package_id=package_id, client_ip=_ip(request), restorer=restorer
        )
        return wire.RolledBackRelease(
            **msgspec.structs.asdict(done.release),
            withdrawn_only=not done.rolled_forward,
            rolled_forward=[
                wire.RolledForwardPackage(version=f.version, files_of_version=f.files_of_version)
                for f in done.rolled_forward
            ],
            higher_open_version=done.higher_open_version,
            unreadable_versions=list(done.unreadable_versions),
        )


# The patterns of the contract's AppId and Sha256 (`offline_releases`), said in the same words.
APP_ID = whole(
    "[a-z0-9][a-z0-9._:-]{0,99}",
    says="an app id like crm.h5: up to 100 lowercase letters, digits, ., _, : and -",
)
SHA256 = whole("[0-9a-f]{64}", says="64 lowercase hexadecimal digits (a SHA-256)")
AppIdQuery = Annotated[str, QueryParameter(pattern=APP_ID)]
Sha256Query = Annotated[str | None, QueryParameter(pattern=SHA256)]
VersionQuery = Annotated[int | None, QueryParameter(ge=1, le=2_000_000_000)]


class AppPackageController(Controller):
    path = APP_PATH
    tags = ["offline packages"]

    @get(
        "/latest",
        operation_id="latestOfflinePackage",
        opt={ERRORS: {422: "A missing or malformed `app`, `current` or `installed`"}},
    )
    async def latest(
        self,
        request: Request[Any, Any, Any],
        caller: CurrentCaller,
        app: AppIdQuery,
        current: Sha256Query = None,
        installed: VersionQuery = None,
    ) -> wire.LatestPackage:
        """The H5 package I should have for an app id.

        The highest version among the active releases that include me (listed, in a released org
        subtree, or in by my sticky percentage bucket) that my app can install: its manifest not
        expired, and its `min_app_version` at most my `X-App-Version` (compared as numbers,
        1.10.0 above 1.9.0); `available: false` when none is. Without `X-App-Version` the
        minimum app version is not looked at (the answer may need a newer app: check it).
        `current` is the SHA-256 of the package the app has: a diff from it is offered when one
        applies and is meaningfully smaller; `up_to_date: true` when it is the answered package.
        `current_withdrawn: true` when its release was rolled back: switch back to the answered
        (older) package, or to none. `installed` (its version) is for information only. Verify
        what you download before activating it.
        """
        state = request.app.state
        # No request transaction: offering a diff may build it (reads both packages).
        async with state.pool.acquire() as conn:
            return await updates.latest(
                conn,
                caller=caller,
                app_id=app,
                current=current,
                blobs=state.blobs,
                package_url=package_url,
                app_version=request.headers.get("x-app-version"),
            )

    @post(
        "/installs",
        operation_id="reportOfflinePackageInstall",
        status_code=HTTP_200_OK,
        opt={
            ERRORS: {
                404: "No H5 package of that app id, version and SHA-256 "
                "(`offline_package.not_found`)"
            }
        },
    )
    async def report_install(
        self, db: Db, caller: CurrentCaller, data: JSONBody[wire.InstallReport]
    ) -> wire.Install:
        """Report the package this device installed for an app id (after verifying it)."""
        return await updates.report_install(db, caller=caller, report=data)


ROUTES: list[Any] = [ReleaseController, AppPackageController]
