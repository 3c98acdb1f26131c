"""Push providers behind one interface: APNs, FCM, HMS, and the log for the embedded default."""

from __future__ import annotations

from redis.asyncio import Redis

from push.providers.apns import Apns
from push.providers.base import Outcome, Provider, Push
from push.providers.fcm import Fcm
from push.providers.hms import Hms
from push.providers.log import LogProvider, Unconfigured
from workbench.settings import Settings

__all__ = ["Outcome", "Provider", "Push", "build"]


def build(settings: Settings, redis: Redis) -> dict[str, Provider]:
    """One provider per registration kind (apns, fcm, hms) from the settings."""
    timeout = float(settings.push_timeout_seconds)
    prefix = settings.redis_prefix
    providers: dict[str, Provider] = {}
    if settings.apns_key_file and settings.apns_key_id and settings.apns_team_id:
        providers["apns"] = Apns(
            base_url=settings.apns_base_url,
            key_file=settings.apns_key_file,
            key_id=settings.apns_key_id,
            team_id=settings.apns_team_id,
            topic=settings.apns_topic or "",
            redis=redis,
            redis_prefix=prefix,
            timeout=timeout,
        )
    if settings.fcm_service_account_file:
        providers["fcm"] = Fcm(
            base_url=settings.fcm_base_url,
            service_account_file=settings.fcm_service_account_file,
            redis=redis,
            redis_prefix=prefix,
            timeout=timeout,
        )
    if settings.hms_app_id and settings.hms_client_secret:
        providers["hms"] = Hms(
            base_url=settings.hms_base_url,
            token_url=settings.hms_token_url,
            app_id=settings.hms_app_id,
            client_secret=settings.hms_client_secret,
            redis=redis,
            redis_prefix=prefix,
            timeout=timeout,
        )
    for name in ("apns", "fcm", "hms"):
        if name not in providers:
            fallback = LogProvider(name) if settings.push_log_unconfigured else Unconfigured(name)
            providers[name] = fallback
    return providers
