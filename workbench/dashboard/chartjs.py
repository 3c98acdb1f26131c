"""Chart.js, vendored into the package when it is built: the dashboard's charts load it from the
console's own static files, never from a CDN.

The build step (`setup.py`'s build_py, which also runs for `pip install -e .`) calls `vendor()`:
when `static/vendor/chart.umd.js` is missing or is not the pinned file, it downloads the pinned
npm tarball with the ordinary npm client (`npm pack`, so npm's own registry configuration,
proxy and cache apply), checks the tarball against the pinned SHA-512 integrity, and writes the
UMD build and its licence. A file already in place and matching the pin is never downloaded
again. Offline: `WORKBENCH_CHART_JS_TARBALL=/path/chart.js-<version>.tgz` uses a tarball fetched
earlier (checked the same way). Nothing unchecked is ever written.

Standard library only: the build loads this file by its path, before any dependency exists.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Callable
from pathlib import Path

VERSION = "4.5.1"
# `npm view chart.js@4.5.1 dist.integrity`: the tarball's SHA-512, as npm's lockfiles record it.
INTEGRITY = (
    "sha512-"
    "GIjfiT9dbmHRiYi6Nl2yFCq7kkwdkp1W/lp2J99rX0yo9tgJGn3lKQATztIjb5tVtevcBtIdICNWqlq5+E8/Pw=="
)
# What is taken out of the tarball, where it goes (in static/vendor/) and its SHA-256, so that a
# file already in place is known to be the pinned one without the tarball.
FILES = {
    "package/dist/chart.umd.js": (
        "chart.umd.js",
        "ecc3cd1eeb8c34d2178e3f59fd63ec5a3d84358c11730af0b9958dc886d7652a",
    ),
    "package/LICENSE.md": (
        "chart.js-LICENSE.md",
        "41a84aa2caba645f966a18d9c2056b73e6d3a81d80bc0046bc0011a2634d4cce",
    ),
}
SCRIPT = "chart.umd.js"  # the name under static/vendor/ that pages load
TARBALL_ENV = "WORKBENCH_CHART_JS_TARBALL"
STATIC_VENDOR = Path(__file__).resolve().parents[1] / "console" / "static" / "vendor"


class VendorError(Exception):
    """The library could not be fetched, or what was fetched is not the pinned file."""


def available(folder: Path = STATIC_VENDOR) -> bool:
    """Whether the page can load the chart library (the build put it in place)."""
    return (folder / SCRIPT).is_file()


def in_place(folder: Path) -> bool:
    """Every vendored file is there and is the pinned one."""
    return all(_sha256(folder / name) == digest for name, digest in FILES.values())


def vendor(folder: Path = STATIC_VENDOR, *, say: Callable[[str], None] = print) -> bool:
    """Put the pinned Chart.js into `folder` unless it is there already; True if it downloaded.
    Raises VendorError when it cannot (no npm, no network, a tarball that is not the pinned
    one); then nothing is written."""
    if in_place(folder):
        return False
    with tempfile.TemporaryDirectory(prefix="chartjs-") as tmp:
        local = os.environ.get(TARBALL_ENV)
        tarball = Path(local) if local else _npm_pack(Path(tmp))
        try:
            data = tarball.read_bytes()
        except OSError as exc:
            raise VendorError(f"cannot read {tarball}: {exc.strerror}") from exc
        if integrity_of(data) != INTEGRITY:
            raise VendorError(
                f"{tarball.name} is not chart.js {VERSION} as pinned (integrity {INTEGRITY})"
            )
        try:
            files = _extract(tarball)
        except (OSError, tarfile.TarError) as exc:
            raise VendorError(f"cannot read {tarball.name}: {exc}") from exc
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        part = folder / f".{name}.part"
        part.write_bytes(content)
        part.replace(folder / name)
    say(f"vendored chart.js {VERSION} into {folder}")
    return True


def integrity_of(data: bytes) -> str:
    """npm's Subresource-Integrity form of a tarball's SHA-512."""
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def _npm_pack(into: Path) -> Path:
    npm = shutil.which("npm")
    if npm is None:
        raise VendorError("npm is not installed (or set " + TARBALL_ENV + " to a tarball)")
    try:
        done = subprocess.run(  # noqa: S603 - a fixed argument list, no shell
            [npm, "pack", f"chart.js@{VERSION}", "--json", "--pack-destination", str(into)],
            cwd=into,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise VendorError(f"npm pack chart.js@{VERSION} failed: {exc}") from exc
    if done.returncode != 0:
        tail = done.stderr.strip().splitlines()[-3:]
        raise VendorError(f"npm pack chart.js@{VERSION} failed: {' '.join(tail)}")
    try:
        name = json.loads(done.stdout)[0]["filename"]
    except (ValueError, LookupError, TypeError) as exc:
        raise VendorError(f"npm pack chart.js@{VERSION}: unexpected answer") from exc
    path = into / Path(name).name
    if not path.is_file():
        raise VendorError(f"npm pack chart.js@{VERSION} wrote no {path.name}")
    return path


def _extract(tarball: Path) -> dict[str, bytes]:
    """The pinned members' bytes by their vendored name (read by name: no path from the archive
    is ever used as a path here), each checked against its SHA-256."""
    out: dict[str, bytes] = {}
    with tarfile.open(tarball, "r:gz") as archive:
        for member, (name, digest) in FILES.items():
            handle = archive.extractfile(member)
            if handle is None:
                raise VendorError(f"{tarball.name} has no {member}")
            content = handle.read()
            if hashlib.sha256(content).hexdigest() != digest:
                raise VendorError(f"{member} in {tarball.name} is not the pinned file")
            out[name] = content
    return out


def _sha256(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None
