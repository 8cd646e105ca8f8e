"""Shared fixtures: an isolated download cache and a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import os

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
