"""The media settings: documented defaults, and every bad value reported at once."""

from __future__ import annotations

import base64

import pytest

from workbench.media.images import ImageLimits
from workbench.media.store import LocalBlobStore, S3BlobStore, blob_store_from_settings
from workbench.settings import Settings, SettingsError

KEY = base64.b64encode(bytes(range(32))).decode()
MINIMAL = {
    "DATABASE_URL": "postgresql://wb:pw@db.internal:5432/workbench",
    "REDIS_URL": "redis://cache.internal:6379/0",
    "WORKBENCH_JWT_KEYS": f"k1:{KEY}",
    "WORKBENCH_DATA_KEYS": f"d1:{KEY}",
    "WORKBENCH_BLIND_INDEX_KEY": KEY,
}


def test_defaults():
    settings = Settings.from_env(MINIMAL)
    assert settings.blob_store == "local"
    assert settings.blob_dir is None
    assert settings.media_url_ttl_seconds == 3600
    assert settings.image_limits == ImageLimits(max_bytes=20_000_000, max_pixels=50_000_000)
    assert settings.s3_region == "us-east-1"
    assert settings.s3_secure is True


async def test_each_store_from_its_settings(tmp_path):
    local = Settings.from_env({**MINIMAL, "WORKBENCH_BLOB_DIR": str(tmp_path)})
    assert isinstance(blob_store_from_settings(local), LocalBlobStore)
    s3 = Settings.from_env(
        {
            **MINIMAL,
            "WORKBENCH_BLOB_STORE": "s3",
            "WORKBENCH_S3_ENDPOINT": "minio.internal:9000",
            "WORKBENCH_S3_BUCKET": "rm-workbench-media",
            "WORKBENCH_S3_ACCESS_KEY": "AKIA0000",
            "WORKBENCH_S3_SECRET_KEY": "secret",
            "WORKBENCH_S3_SECURE": "false",
            "WORKBENCH_MAX_BROCHURE_IMAGE_BYTES": "1000000",
            "WORKBENCH_MAX_BROCHURE_IMAGE_PIXELS": "2000000",
            "WORKBENCH_MEDIA_URL_TTL": "600",
        }
    )
    store = blob_store_from_settings(s3)
    assert isinstance(store, S3BlobStore)
    assert store.bucket == "rm-workbench-media"
    assert s3.image_limits == ImageLimits(max_bytes=1_000_000, max_pixels=2_000_000)
    assert s3.media_url_ttl_seconds == 600
    await store.close()


def test_every_bad_media_value_is_listed_at_once():
    with pytest.raises(SettingsError) as caught:
        Settings.from_env(
            {
                **MINIMAL,
                "WORKBENCH_BLOB_STORE": "s3",
                "WORKBENCH_S3_ENDPOINT": "https://minio.internal:9000/path",
                "WORKBENCH_S3_BUCKET": "Not_A_Bucket",
                "WORKBENCH_S3_SECURE": "maybe",
                "WORKBENCH_MEDIA_URL_TTL": "0",
                "WORKBENCH_MAX_BROCHURE_IMAGE_BYTES": "-1",
                "WORKBENCH_MAX_BROCHURE_IMAGE_PIXELS": "many",
            }
        )
    problems = caught.value.problems
    for variable in (
        "WORKBENCH_S3_ENDPOINT",
        "WORKBENCH_S3_BUCKET",
        "WORKBENCH_S3_SECURE",
        "WORKBENCH_MEDIA_URL_TTL",
        "WORKBENCH_MAX_BROCHURE_IMAGE_BYTES",
        "WORKBENCH_MAX_BROCHURE_IMAGE_PIXELS",
    ):
        assert any(p.startswith(variable) for p in problems), (variable, problems)
    # The keys are missing too, and said so in one line.
    assert any("WORKBENCH_S3_ACCESS_KEY, WORKBENCH_S3_SECRET_KEY" in p for p in problems)


def test_an_unknown_store_is_refused():
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({**MINIMAL, "WORKBENCH_BLOB_STORE": "ftp"})
    assert caught.value.problems == ["WORKBENCH_BLOB_STORE must be local or s3"]
