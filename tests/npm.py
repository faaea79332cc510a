"""Packages the tests take from the npm registry: fetched once with `npm pack`, checked
against a pinned sha512 (the registry's `integrity`), unpacked under .cache/."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

import pytest

CACHE = Path(__file__).parents[1] / ".cache"


def unpacked(spec: str, integrity: str) -> Path:
    """The folder of `spec` (`name@version`) unpacked, fetched on first use."""
    folder = CACHE / spec.replace("@", "-")
    if folder.is_dir():
        return folder
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail("npm is not installed: run `apt-get install npm` (tests/run does)")
    CACHE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
        done = subprocess.run(
            [npm, "pack", spec, "--json", "--pack-destination", tmp],
            capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
        assert done.returncode == 0, f"npm pack {spec} failed: {done.stderr}"
        tarball = Path(tmp) / json.loads(done.stdout)[0]["filename"]
        digest = base64.b64encode(hashlib.sha512(tarball.read_bytes()).digest()).decode()
        assert f"sha512-{digest}" == integrity, f"{spec} from npm is not the tarball pinned"
        with tarfile.open(tarball) as archive:
            archive.extractall(tmp, filter="data")
        os.replace(Path(tmp) / "package", folder)  # atomic: never a half-unpacked package
    return folder
