"""`workbench build-package h5` stores the server's own pages as the next signed H5 package (and
writes the file); `workbench verify-package` checks that file as the app must: accepted, then
refused when replayed over the same version, tampered with, or checked with other keys."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from sync.packages.manifest import PackageSigner, new_manifest, write_package
from tests.conftest import TEST_KEY
from workbench.cli import main
from workbench.settings import JwtKey, Settings


@pytest.fixture
def cli_env(settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name, value in {
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "WORKBENCH_JWT_KEYS": f"test-1:{TEST_KEY}",
        "WORKBENCH_DATA_KEYS": f"data-1:{base64.b64encode(b'd' * 32).decode()}",
        "WORKBENCH_BLIND_INDEX_KEY": base64.b64encode(b"b" * 32).decode(),
        "WORKBENCH_BLOB_DIR": str(tmp_path / "blobs"),
        "WORKBENCH_BANK_NAME": "示例银行",
    }.items():
        monkeypatch.setenv(name, value)
    return tmp_path


async def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = await asyncio.to_thread(main, list(args))
    captured = capsys.readouterr()
    return code, captured.out + captured.err


async def test_build_then_verify_as_the_app(cli_env: Path, settings: Settings, capsys: Any) -> None:
    out = cli_env / "h5.zip"
    code, text = await run(capsys, "build-package", "h5", "--out", str(out))
    assert code == 0, text
    assert "version 1" in text
    conn = await asyncpg.connect(settings.database_url)
    try:
        stored = await conn.fetchrow("select version, sha256, kind from offline_packages")
    finally:
        await conn.close()
    assert stored is not None
    assert (stored["version"], stored["kind"]) == (1, "h5")
    with zipfile.ZipFile(out) as zf:
        names = set(zf.namelist())
        viewer = zf.read("files/share/viewer.html").decode()
    assert {"files/share/viewer.html", "files/confirm/index.html", "files/verify/index.html",
            "files/survey/form.html", "files/static/survey.css"} <= names  # fmt: skip
    assert "示例银行" in viewer

    # The same pages again are the latest version, not a new one.
    code, text = await run(capsys, "build-package", "h5")
    assert code == 0, text
    assert "unchanged, the latest version already holds these pages: h5 version 1" in text
    assert await stored_versions(settings) == 1

    # A version not above the latest is refused; the next one is stored.
    code, text = await run(capsys, "build-package", "h5", "--version", "1")
    assert code == 2, text
    assert "not above" in text
    code, text = await run(capsys, "build-package", "h5", "--version", "5")
    assert code == 0, text

    code, text = await run(capsys, "verify-package", str(out))
    assert code == 0, text
    assert text.startswith("OK")
    assert "share/viewer.html" in text
    code, text = await run(capsys, "verify-package", str(out), "--installed-version", "1")
    assert code == 1
    assert "not_newer" in text

    # Other keys (from a key list file), and one changed byte in a file: refused.
    other = PackageSigner([JwtKey("test-1", b"z" * 32)])
    keys = cli_env / "keys.json"
    keys.write_text(json.dumps({"keys": [
        {"key_id": k.key_id, "public_key": k.public_key, "alg": k.alg}
        for k in other.keys_document()]}))  # fmt: skip
    code, text = await run(capsys, "verify-package", str(out), "--keys", str(keys))
    assert code == 1
    assert "bad_signature" in text
    tampered = cli_env / "tampered.zip"
    buffer = io.BytesIO()
    with zipfile.ZipFile(out) as source, zipfile.ZipFile(buffer, "w") as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "files/static/survey.js":
                data = data.replace(b"function", b"Function", 1)
            target.writestr(info.filename, data)
    tampered.write_bytes(buffer.getvalue())
    code, text = await run(capsys, "verify-package", str(tampered))
    assert code == 1
    assert "file_mismatch" in text


async def stored_versions(settings: Settings) -> int:
    conn = await asyncpg.connect(settings.database_url)
    try:
        return int(await conn.fetchval("select count(*) from offline_packages"))
    finally:
        await conn.close()


async def test_bad_build_arguments_are_refused_before_anything_is_stored(
    cli_env: Path, settings: Settings, capsys: Any
) -> None:
    """Each says what is wrong in one line (exit 2): no database error, no row on stderr."""
    for args, said in (
        (["--out", "/nonexistent/dir/x.zip"], "the folder /nonexistent/dir does not exist"),
        (["--out", str(cli_env)], "is a folder"),
        (["--app-id", "BAD ID"], "--app-id 'BAD ID': lowercase letters"),
        (["--app-id", "media-phone"], "reserved for the brochure media packs"),
        (["--min-app-version", "abc"], "--min-app-version 'abc': an app version like 2.3.0"),
        (["--version", "99999999999"], "--version must be between 1 and 2000000000"),
    ):
        code, text = await run(capsys, "build-package", "h5", *args)
        assert code == 2, text
        assert said in text, text
        assert "manifest" not in text, text
        assert "database" not in text, text
    assert await stored_versions(settings) == 0


async def test_verify_with_a_media_app_id_expects_a_media_pack(
    cli_env: Path, settings: Settings, capsys: Any
) -> None:
    """An H5 package signed as `media-phone` (as uploads once allowed) is refused for it."""
    now = datetime.now(UTC)
    manifest = new_manifest(app_id="media-phone", version=7, kind="h5", files=[],
                            min_app_version="1.0.0", issued_at=now,
                            expires_at=now + timedelta(days=30))  # fmt: skip
    _, signature = PackageSigner(Settings.from_env().jwt_keys).sign(manifest)
    path = cli_env / "h5media.zip"
    path.write_bytes(write_package(manifest, signature, []))
    code, text = await run(capsys, "verify-package", str(path), "--app-id", "media-phone",
                           "--installed-version", "6")  # fmt: skip
    assert code == 1, text
    assert "wrong_kind" in text
