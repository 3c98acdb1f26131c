"""Diff size against full size for a typical H5 release, and the time to make and apply a diff.

Builds the project's H5 package as `workbench build-package h5` does (sync.packages.building:
the customer pages' offline shells and the public static files), then the next release with
one page and its script changed a little (a line of text added to the survey form, a new line
and a changed constant in the script), signs both as the server does, and reports the full
package's size, the diff's size and share (goal: below 20 %), which files travel as a bsdiff4
delta and which whole, and the median time to make and to apply the diff (applying includes
every check the app does: base hash, signature, each file's SHA-256).

A second scenario repeats the same edit inside a larger package (the H5 files plus the console's
static files and templates, standing in for a bank whose H5 bundle carries more pages), to show
how the share falls as the untouched part grows: a diff's fixed part (the signed target
manifest, which lists every file, and the zip's framing) does not shrink with the edit.

    .venv/bin/python -m bench.package_diffs [--rounds 20]

Output: a table on stdout and bench/results/package_diffs-<UTC timestamp>.json (git-ignored).
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import time
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sync.packages.applying import apply_diff
from sync.packages.building import h5_files
from sync.packages.diffs import make_diff, read_package, sha256_hex
from sync.packages.manifest import PackageSigner, new_manifest, write_package
from workbench.settings import JwtKey

ROOT = Path(__file__).resolve().parent.parent
BANK = "示例银行"
MORE_SOURCES = {
    "console/templates": ROOT / "workbench/console/templates",
    "console/static": ROOT / "workbench/console/static",
}
PAGE = "survey/form.html"
SCRIPT = "static/survey.js"
NOW = datetime.now(UTC)
SIGNER = PackageSigner([JwtKey(kid="bench", seed=bytes(range(32)))])


def collect(sources: dict[str, Path]) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    for prefix, folder in sources.items():
        for path in sorted(folder.rglob("*")):
            if path.is_file() and not path.name.startswith("."):
                files[f"{prefix}/{path.relative_to(folder).as_posix()}"] = path.read_bytes()
    return files


def next_release(files: dict[str, bytes]) -> dict[str, bytes]:
    """One page and its script changed a little, as a typical release does."""
    page = files[PAGE].decode()
    script = files[SCRIPT].decode()
    changed_page = page.replace(
        "</form>", '  <p class="hint">提交后可在理财经理处查看结果</p>\n</form>', 1
    )
    if changed_page == page:
        changed_page = page + "\n<!-- 2.4: 提交说明 -->\n"
    lines = script.splitlines(keepends=True)
    lines.insert(len(lines) // 2, "  // 2.4: remember the last answered question\n")
    changed_script = "".join(lines).replace("true", "!0", 1)
    return dict(files, **{PAGE: changed_page.encode(), SCRIPT: changed_script.encode()})


def package(files: dict[str, bytes], version: int) -> bytes:
    manifest = new_manifest(
        app_id="h5.customer",
        version=version,
        kind="h5",
        files=[{"path": p, "size": len(d), "sha256": sha256_hex(d)} for p, d in files.items()],
        min_app_version="2.0.0",
        issued_at=NOW,
        expires_at=NOW + timedelta(days=180),
    )
    _, signature = SIGNER.sign(manifest)
    return write_package(manifest, signature, sorted(files.items()))


def median_ms(action: Callable[[], object], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def scenario(name: str, files: dict[str, bytes], rounds: int) -> dict[str, Any]:
    target_files = next_release(files)
    base, target = package(files, 1), package(target_files, 2)
    base_files, target_pkg = read_package(base), read_package(target)
    diff = make_diff(base_files, target_pkg)
    keys = SIGNER.public_keys()

    def apply() -> dict[str, bytes]:
        return apply_diff(base, diff.data, public_keys=keys, installed_version=1, now=NOW)

    assert apply() == target_files
    with zipfile.ZipFile(io.BytesIO(diff.data)) as archive:
        document = json.loads(archive.read("diff.json"))
        members = {i.filename: i.compress_size for i in archive.infolist()}
    return {
        "scenario": name,
        "files": len(files),
        "unpacked_bytes": sum(len(d) for d in files.values()),
        "full_package_bytes": len(target),
        "diff_bytes": diff.size,
        "diff_share": diff.size / len(target),
        "diff_json_bytes": members["diff.json"],
        "changed": [
            {"path": e["path"], "mode": e["mode"], "size": e["size"]} for e in document["changed"]
        ],
        "make_ms": median_ms(lambda: make_diff(base_files, target_pkg), rounds),
        "apply_ms": median_ms(apply, rounds),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=20, help="timing rounds (median)")
    args = parser.parse_args()
    h5 = {f.path: f.data for f in h5_files(BANK)}
    results = [
        scenario("h5 (build-package)", h5, args.rounds),
        scenario("h5 + console pages", {**h5, **collect(MORE_SOURCES)}, args.rounds),
    ]
    print(
        f"{'scenario':<22} {'files':>5} {'full':>9} {'diff':>8} {'share':>7}"
        f" {'make':>9} {'apply':>9}"
    )
    for r in results:
        print(
            f"{r['scenario']:<22} {r['files']:>5} {r['full_package_bytes']:>8}B"
            f" {r['diff_bytes']:>7}B {r['diff_share']:>6.1%}"
            f" {r['make_ms']:>7.1f}ms {r['apply_ms']:>7.1f}ms"
        )
        for entry in r["changed"]:
            print(f"    {entry['mode']:<6} {entry['path']} ({entry['size']} B)")
        print(f"    diff.json (signed target manifest, lists): {r['diff_json_bytes']} B packed")
    out = ROOT / "bench/results" / f"package_diffs-{NOW.strftime('%Y%m%dT%H%M%SZ')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"rounds": args.rounds, "results": results}, indent=2))
    print(f"written: {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
