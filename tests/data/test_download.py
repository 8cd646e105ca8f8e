import hashlib

import pytest

from imgclf.data.download import download
from imgclf.errors import DownloadError

PAYLOAD = bytes(range(256)) * 4096  # 1 MiB
MD5 = hashlib.md5(PAYLOAD).hexdigest()


def test_download_streams_to_final_name_with_checksum(http_server, tmp_path):
    http_server.files["/a.bin"] = PAYLOAD
    dest = download(http_server.url("/a.bin"), tmp_path / "a.bin", MD5, backoff_s=0)
    assert dest.read_bytes() == PAYLOAD
    assert [p.name for p in tmp_path.iterdir()] == ["a.bin"]


def test_existing_verified_file_is_not_downloaded_again(http_server, tmp_path):
    http_server.files["/a.bin"] = PAYLOAD
    download(http_server.url("/a.bin"), tmp_path / "a.bin", MD5)
    download(http_server.url("/a.bin"), tmp_path / "a.bin", MD5)
    assert len(http_server.requests) == 1


def test_md5_mismatch_fails_and_leaves_no_file(http_server, tmp_path):
    http_server.files["/a.bin"] = PAYLOAD
    with pytest.raises(DownloadError, match=r"a\.bin: md5 mismatch: expected 0{32}, got " + MD5):
        download(http_server.url("/a.bin"), tmp_path / "a.bin", "0" * 32, backoff_s=0)
    assert list(tmp_path.iterdir()) == []


def test_dropped_connection_resumes_with_a_range_request(http_server, tmp_path):
    http_server.files["/a.bin"] = PAYLOAD
    http_server.drop_after["/a.bin"] = 300_000
    dest = download(http_server.url("/a.bin"), tmp_path / "a.bin", MD5, backoff_s=0)
    assert dest.read_bytes() == PAYLOAD
    assert http_server.requests == [("/a.bin", None), ("/a.bin", "bytes=300000-")]


def test_transient_server_errors_are_retried(http_server, tmp_path):
    http_server.files["/a.bin"] = PAYLOAD
    http_server.fail_times["/a.bin"] = 2
    download(http_server.url("/a.bin"), tmp_path / "a.bin", MD5, backoff_s=0)
    assert len(http_server.requests) == 3


def test_persistent_failure_gives_up_after_retries(http_server, tmp_path):
    http_server.files["/a.bin"] = PAYLOAD
    http_server.fail_times["/a.bin"] = 100
    with pytest.raises(DownloadError, match=r"download failed after 2 retries: HTTP 503"):
        download(http_server.url("/a.bin"), tmp_path / "a.bin", MD5, retries=2, backoff_s=0)
    assert len(http_server.requests) == 3


def test_missing_file_fails_at_once(http_server, tmp_path):
    with pytest.raises(DownloadError, match=r"/nope\.bin: HTTP 404"):
        download(http_server.url("/nope.bin"), tmp_path / "nope.bin", None, backoff_s=0)
    assert len(http_server.requests) == 1


def test_unreachable_host_is_a_clear_error(tmp_path):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(DownloadError, match=r"download failed after 1 retries: .*[Cc]onnection refused"):
        download(f"http://127.0.0.1:{port}/a.bin", tmp_path / "a.bin", None, retries=1, backoff_s=0)


def test_file_url_is_copied_and_checked(tmp_path):
    source = tmp_path / "mirror" / "a.bin"
    source.parent.mkdir()
    source.write_bytes(PAYLOAD)
    dest = download(source.as_uri(), tmp_path / "cache" / "a.bin", MD5)
    assert dest.read_bytes() == PAYLOAD
    with pytest.raises(DownloadError, match="no such file"):
        download((tmp_path / "absent.bin").as_uri(), tmp_path / "cache" / "b.bin", None)
