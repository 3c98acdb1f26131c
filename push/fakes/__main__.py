"""`python -m push.fakes --port 8443 --latency 0.02 --credentials DIR`: the fake in the
foreground, one JSON line (`base_url`, token endpoints, credentials) printed once ready."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
from collections.abc import Sequence
from pathlib import Path

from push.fakes.credentials import FakeCredentials
from push.fakes.server import FakePushServer
from push.fakes.wire import json_text


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(
        prog="python -m push.fakes",
        description="Serve a fake APNs / FCM / HMS Push Kit over cleartext HTTP/2.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds before each answer")
    parser.add_argument(
        "--credentials", type=Path, required=True, help="folder of credentials (made if absent)"
    )
    parser.add_argument(
        "--record", action="store_true", help="keep every request in memory (off: counters only)"
    )
    return parser.parse_args(argv)


async def _serve(args: argparse.Namespace) -> None:
    """Run the fake until SIGTERM or SIGINT, printing one JSON line when it is ready."""
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    credentials = FakeCredentials.load_or_generate(args.credentials)
    server = FakePushServer(credentials, latency=args.latency, record=args.record)
    await server.start(args.host, args.port)
    ready = {
        "base_url": server.base_url,
        "fcm_token_uri": server.fcm_token_uri,
        "hms_token_url": server.hms_token_url,
        "credentials": credentials.describe(),
    }
    try:
        print(json_text(ready), flush=True)
        await stopping.wait()
    finally:
        await server.stop()


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of `python -m push.fakes`."""
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(_serve(_parse_args(argv)))


if __name__ == "__main__":
    main()
