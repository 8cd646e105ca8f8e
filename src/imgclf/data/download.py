"""Streamed, resumable, checksummed downloads into a per-user cache.

The file grows as ``<name>.part``; a dropped connection resumes with an HTTP
Range request, and only a file whose md5 matches is renamed to its final name.
The cache lives outside the DVC outputs so a changed param never downloads the
same archive twice.
"""

from __future__ import annotations

import http.client
import os
import shutil
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from .. import __version__
from ..errors import DownloadError
from ..io import file_digest
from ..progress import bar

CHUNK_BYTES = 1 << 16
# Status codes worth another try; anything else (404, 403, ...) fails at once.
RETRYABLE_STATUS = {408, 425, 429, 500, 502, 503, 504}


def cache_dir() -> Path:
    """``$IMGCLF_CACHE_DIR``, else ``$XDG_CACHE_HOME/imgclf``, else ``~/.cache/imgclf``."""
    if env := os.environ.get("IMGCLF_CACHE_DIR"):
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "imgclf"


def local_path(url: str) -> Path | None:
    """The filesystem path of a ``file://`` URL (``file://relative/path`` allowed), else None."""
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme != "file":
        return None
    netloc = "" if parsed.netloc in ("", "localhost") else parsed.netloc
    return Path(urllib.request.url2pathname(netloc + parsed.path))


def download(
    url: str,
    dest: str | Path,
    md5: str | None = None,
    *,
    retries: int = 5,
    backoff_s: float = 1.0,
    timeout_s: float = 60.0,
) -> Path:
    """Fetch ``url`` to ``dest`` unless a file with the right md5 is already there."""
    dest = Path(dest)
    if dest.exists() and (md5 is None or file_digest(dest, "md5") == md5.lower()):
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    source = local_path(url)
    if source is not None:
        _copy_local(source, part, url)
    elif urllib.parse.urlparse(url).scheme in ("http", "https"):
        _fetch_http(url, part, retries=retries, backoff_s=backoff_s, timeout_s=timeout_s)
    else:
        raise DownloadError(f"{url}: unsupported URL scheme (use http, https or file)")
    if md5 is not None:
        got = file_digest(part, "md5")
        if got != md5.lower():
            part.unlink(missing_ok=True)
            raise DownloadError(
                f"{url}: md5 mismatch: expected {md5.lower()}, got {got} "
                "(a corrupt or different file; set data.md5 only for a mirror you trust)"
            )
    os.replace(part, dest)
    return dest


def _copy_local(source: Path, part: Path, url: str) -> None:
    if not source.is_file():
        raise DownloadError(f"{url}: no such file {source}")
    shutil.copyfile(source, part)


def _fetch_http(url: str, part: Path, *, retries: int, backoff_s: float, timeout_s: float) -> None:
    failures = 0
    while True:
        have = part.stat().st_size if part.exists() else 0
        try:
            if _fetch_once(url, part, have, timeout_s):
                return
            reason = "connection closed before the end of the file"
        except urllib.error.HTTPError as exc:
            if exc.code == 416 and have:
                # Range past the end: the part file is stale or complete; start over once.
                part.unlink()
                reason = "server refused to resume (HTTP 416)"
            elif exc.code not in RETRYABLE_STATUS:
                raise DownloadError(f"{url}: HTTP {exc.code} {exc.reason}") from None
            else:
                reason = f"HTTP {exc.code} {exc.reason}"
        except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
            reason = str(getattr(exc, "reason", exc)) or type(exc).__name__
        grown = part.exists() and part.stat().st_size > have
        failures = 0 if grown else failures + 1
        if failures > retries:
            raise DownloadError(f"{url}: download failed after {retries} retries: {reason}")
        time.sleep(backoff_s * 2 ** max(failures - 1, 0))


def _fetch_once(url: str, part: Path, have: int, timeout_s: float) -> bool:
    """One request; True when the whole file is on disk."""
    headers = {"User-Agent": f"imgclf/{__version__}"}
    if have:
        headers["Range"] = f"bytes={have}-"
    request = urllib.request.Request(url, headers=headers)
    with urllib.request.urlopen(request, timeout=timeout_s) as response:
        resumed = have > 0 and response.status == 206
        if not resumed:
            have = 0
        length = response.headers.get("Content-Length")
        total = have + int(length) if length is not None else None
        with (
            open(part, "ab" if resumed else "wb") as fh,
            bar(
                total, desc=Path(urllib.parse.urlparse(url).path).name, unit="B", unit_scale=True, initial=have
            ) as progress,
        ):
            try:
                while chunk := response.read(CHUNK_BYTES):
                    fh.write(chunk)
                    progress.update(len(chunk))
            except http.client.IncompleteRead as exc:
                fh.write(exc.partial)
                return False
    size = part.stat().st_size
    return total is None or size >= total
