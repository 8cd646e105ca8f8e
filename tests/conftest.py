"""Shared fixtures: an isolated download cache and a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import os
import subprocess

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("IMGCLF_NO_PROGRESS", "1")

import pytest

from fakes import FileServer


@pytest.fixture(autouse=True)
def cache_dir(tmp_path_factory, monkeypatch):
    """Each test downloads into its own cache, never the user's."""
    path = tmp_path_factory.mktemp("cache")
    monkeypatch.setenv("IMGCLF_CACHE_DIR", str(path))
    return path


@pytest.fixture
def http_server():
    server = FileServer()
    yield server
    server.close()


@pytest.fixture
def small_disk(tmp_path):
    """A 4 MB file system of its own (a tmpfs), to fill up; skipped where this user cannot mount one."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(disk)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"mounting a 4 MB tmpfs needs root: {mounted.stderr.decode().strip()}")
    yield disk
    subprocess.run(["umount", "-l", str(disk)], check=True)
