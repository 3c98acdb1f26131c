"""`workbench build-package h5` and `workbench verify-package FILE`.

build-package renders the H5 package from the server's own pages (see building) and, when the
database is reachable, stores it as the app id's next version exactly as an upload is (it is not
released until a release says so); `--out FILE` also writes the package file, and is the only
output when there is no database.

verify-package checks a package file as the app must before activating it (signature with the
key its manifest names, version above the installed one, not expired, app version, every file;
with `--app-id`, that app id and its kind: a media pack for `media-phone`/`media-tablet`, else
H5) and prints what it found; the exit status is 1 when the package is refused.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

import asyncpg

from sync.packages.archive import PackageFile
from sync.packages.building import h5_files
from sync.packages.manifest import (
    Manifest,
    PackageRefused,
    PackageSigner,
    expected_kind,
    new_manifest,
    parse_keys_document,
    write_package,
)
from sync.packages.manifest import (
    verify_package as verify_file,
)
from sync.packages.store import (
    MAX_VERSION,
    VersionNotAbove,
    app_version_problem,
    download_path,
    h5_app_id_problem,
    package_signer,
    store_package,
    store_upload,
)
from workbench.settings import Settings

CONNECT_TIMEOUT_SECONDS = 3.0


def build_package(args: argparse.Namespace) -> int:
    """Check every argument first (exit 2 with one line saying what is wrong), so that a bad
    app id, app version, version or output path stores nothing and prints no database row."""
    if problem := _build_problem(args):
        print(f"workbench: {problem}", file=sys.stderr)
        return 2
    return asyncio.run(_build(args, Settings.from_env()))


def _build_problem(args: argparse.Namespace) -> str | None:
    """What is wrong with the build-package arguments, or None."""
    if problem := h5_app_id_problem(args.app_id):
        return f"--app-id {args.app_id!r}: {problem}"
    if problem := app_version_problem(args.min_app_version):
        return f"--min-app-version {args.min_app_version!r}: {problem}"
    if args.version is not None and not 1 <= args.version <= MAX_VERSION:
        return f"--version must be between 1 and {MAX_VERSION}"
    if args.out is not None:
        return _out_problem(Path(args.out))
    return None


def _out_problem(out: Path) -> str | None:
    """Why the package file cannot be written to `out` (checked before anything is stored)."""
    folder = out.parent if str(out.parent) else Path(".")
    if out.is_dir():
        return f"--out {out} is a folder; name the file to write"
    if not folder.is_dir():
        return f"--out {out}: the folder {folder} does not exist"
    if not os.access(folder, os.W_OK) or (out.exists() and not os.access(out, os.W_OK)):
        return f"--out {out}: not writable"
    return None


async def _build(args: argparse.Namespace, settings: Settings) -> int:
    files = h5_files(settings.bank_name)
    now = datetime.now(UTC)
    try:
        conn = await asyncpg.connect(settings.database_url, timeout=CONNECT_TIMEOUT_SECONDS)
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        if args.out is None:
            print(
                f"workbench: the database is not reachable ({exc}); use --out FILE", file=sys.stderr
            )
            return 2
        return _write_offline(args, settings, files, now)
    from workbench.db import use_json_codecs
    from workbench.media.store import blob_store_from_settings

    blobs = blob_store_from_settings(settings)
    try:
        await use_json_codecs(conn)
        async with conn.transaction():
            created = True
            if args.version is None:  # the pages as the latest version has them: that one
                row, created = await store_upload(
                    conn, blobs, package_signer(settings), app_id=args.app_id, kind="h5",
                    files=files, min_app_version=args.min_app_version, now=now,
                )  # fmt: skip
            else:
                row = await store_package(
                    conn, blobs, package_signer(settings), app_id=args.app_id, kind="h5",
                    files=files, min_app_version=args.min_app_version, now=now,
                    version=args.version,
                )  # fmt: skip
            if args.out is not None:  # written before the commit: a failure stores nothing
                data = b"".join([chunk async for chunk in blobs.read(row["blob_key"])])
                args.out.write_bytes(data)
    except VersionNotAbove as exc:
        print(f"workbench: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        if args.out is None or isinstance(exc, ConnectionError):
            raise
        print(f"workbench: cannot write {args.out} ({exc}); nothing stored", file=sys.stderr)
        return 2
    finally:
        await blobs.close()
        await conn.close()
    done = "stored" if created else "unchanged, the latest version already holds these pages:"
    print(
        f"{done} {row['app_id']} version {row['version']} ({len(files)} files, {row['size']} bytes,"
        f" key {row['key_id']}) as package {row['id']}\n"
        f"sha256 {row['sha256']}\ndownload {download_path(row['id'])}"
    )
    if args.out is not None:
        print(f"wrote {args.out}")
    return 0


def _write_offline(
    args: argparse.Namespace, settings: Settings, files: list[PackageFile], now: datetime
) -> int:
    from datetime import timedelta

    from sync.packages.store import DEFAULT_EXPIRES_DAYS

    manifest = new_manifest(
        app_id=args.app_id,
        version=args.version or 1,
        kind="h5",
        files=[{"path": f.path, "size": f.size, "sha256": f.sha256} for f in files],
        min_app_version=args.min_app_version,
        issued_at=now,
        expires_at=now + timedelta(days=DEFAULT_EXPIRES_DAYS),
    )
    key_id, signature = package_signer(settings).sign(manifest)
    data = write_package(manifest, signature, ((f.path, f.data) for f in files))
    args.out.write_bytes(data)
    print(
        f"wrote {args.out}: {args.app_id} version {manifest['version']} ({len(files)} files,"
        f" {len(data)} bytes, key {key_id}); not stored (no database)"
    )
    return 0


def verify_package(args: argparse.Namespace) -> int:
    path: Path = args.file
    try:
        data = path.read_bytes()
        keys = _keys(args.keys)
    except (OSError, PackageRefused) as exc:
        print(f"workbench: {exc}", file=sys.stderr)
        return 2
    try:
        manifest = verify_file(
            data,
            keys,
            installed_version=args.installed_version,
            now=datetime.now(UTC),
            app_version=args.app_version,
            app_id=args.app_id,
            kind=expected_kind(args.app_id) if args.app_id else None,
        )
    except PackageRefused as refused:
        print(f"REFUSED {path}: {refused.reason}: {refused.detail}")
        return 1
    _describe(path, manifest)
    return 0


def _keys(source: str | None) -> dict[str, bytes]:
    """The public keys: a key list URL, a key list file, or (default) this server's own."""
    if source is None:
        return PackageSigner(Settings.from_env().jwt_keys).public_keys()
    if source.startswith(("https://", "http://")):
        import httpx

        try:
            response = httpx.get(source, timeout=10.0, follow_redirects=True)
            response.raise_for_status()
        except httpx.HTTPError as exc:
            raise OSError(f"cannot fetch the keys from {source}: {exc}") from None
        return parse_keys_document(response.content)
    return parse_keys_document(Path(source).read_bytes())


def _describe(path: Path, manifest: Manifest) -> None:
    total = sum(f.size for f in manifest.files)
    print(
        f"OK {path}: {manifest.app_id} version {manifest.version} ({manifest.kind}),"
        f" {len(manifest.files)} files, {total} bytes unpacked\n"
        f"signed with key {manifest.key_id}; issued {manifest.issued_at.isoformat()},"
        f" expires {manifest.expires_at.isoformat()}; needs app {manifest.min_app_version}+"
    )
    for f in manifest.files:
        print(f"  {f.sha256[:12]}  {f.size:>9}  {f.path}")
