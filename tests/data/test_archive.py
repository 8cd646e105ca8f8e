import io
import tarfile
import zipfile

import pytest

from imgclf.data.archive import open_tree
from imgclf.errors import DataError


def tar_with(path, *members):
    """members: (TarInfo-like kwargs, payload bytes or None)."""
    with tarfile.open(path, "w:gz") as tar:
        for kwargs, payload in members:
            info = tarfile.TarInfo(kwargs.pop("name"))
            for key, value in kwargs.items():
                setattr(info, key, value)
            if payload is not None:
                info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload) if payload is not None else None)
    return path


@pytest.mark.parametrize(
    "member, reason",
    [
        ({"name": "/etc/cron.d/evil"}, "absolute path"),
        ({"name": "train/../../evil.png"}, r"'\.\.' in path"),
        ({"name": "train/cat/link.png", "type": tarfile.SYMTYPE, "linkname": "/etc/passwd"}, "link to absolute path"),
        (
            {"name": "train/cat/link.png", "type": tarfile.SYMTYPE, "linkname": "../../../etc/passwd"},
            "link points outside",
        ),
        ({"name": "train/cat/hard.png", "type": tarfile.LNKTYPE, "linkname": "../outside.png"}, "link points outside"),
        ({"name": "train/cat/dev", "type": tarfile.CHRTYPE}, "device or pipe"),
    ],
)
def test_unsafe_tar_members_refuse_the_archive(tmp_path, member, reason):
    payload = None if member.get("type") in (tarfile.SYMTYPE, tarfile.LNKTYPE, tarfile.CHRTYPE) else b"x"
    name = member["name"]
    path = tar_with(tmp_path / "evil.tar.gz", ({"name": "train/cat/ok.png"}, b"ok"), (dict(member), payload))
    with pytest.raises(DataError, match=rf"evil\.tar\.gz: refused unsafe member '{name}': {reason}"):
        open_tree(path)


def test_links_inside_the_archive_read_their_target(tmp_path):
    path = tar_with(
        tmp_path / "ok.tar.gz",
        ({"name": "a/real.png"}, b"pixels"),
        ({"name": "a/alias.png", "type": tarfile.SYMTYPE, "linkname": "real.png"}, None),
    )
    with open_tree(path) as tree:
        assert sorted(tree.names) == ["a/alias.png", "a/real.png"]
        assert dict(tree.read({"a/alias.png"})) == {"a/alias.png": b"pixels"}


@pytest.mark.parametrize("name, reason", [("/abs.png", "absolute path"), ("a/../../up.png", r"'\.\.' in path")])
def test_unsafe_zip_members_refuse_the_archive(tmp_path, name, reason):
    path = tmp_path / "evil.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(zipfile.ZipInfo(name), b"x")
    with pytest.raises(DataError, match=reason):
        open_tree(path)


def test_zip_symlink_out_of_the_archive_is_refused(tmp_path):
    path = tmp_path / "evil.zip"
    info = zipfile.ZipInfo("train/cat/link.png")
    info.external_attr = 0o120777 << 16  # S_IFLNK
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(info, "../../../../etc/passwd")
    with pytest.raises(DataError, match="points outside the archive"):
        open_tree(path)


def test_corrupt_archive_is_a_clear_error(tmp_path):
    bad = tmp_path / "broken.tar.gz"
    bad.write_bytes(b"\x1f\x8b\x08\x00 not really gzip")
    with pytest.raises(DataError, match=r"broken\.tar\.gz: not a readable tar archive"):
        open_tree(bad)
    badzip = tmp_path / "broken.zip"
    badzip.write_bytes(b"PK\x03\x04 nope")
    with pytest.raises(DataError, match=r"broken\.zip: not a readable zip archive"):
        open_tree(badzip)


def test_truncated_archive_fails_while_reading(tmp_path):
    path = tar_with(tmp_path / "t.tar.gz", ({"name": "a/x.png"}, bytes(200_000)), ({"name": "a/y.png"}, b"y" * 10))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with (
        pytest.raises(DataError, match=r"t\.tar\.gz: (not a readable tar archive|archive is corrupt or truncated)"),
        open_tree(path) as tree,
    ):
        dict(tree.read(set(tree.names)))


def test_missing_path_and_unknown_format(tmp_path):
    with pytest.raises(DataError, match="no such file or directory"):
        open_tree(tmp_path / "absent")
    other = tmp_path / "data.rar"
    other.write_bytes(b"x")
    with pytest.raises(DataError, match=r"not a folder or a supported archive \(\.tar\.gz, \.tgz, \.tar, \.zip\)"):
        open_tree(other)


@pytest.mark.parametrize("target", ["/etc/passwd", "../outside.jpg"])
def test_folder_link_out_of_the_folder_is_refused_like_in_archives(tmp_path, target):
    root = tmp_path / "pets"
    (root / "train" / "cat").mkdir(parents=True)
    (root / "train" / "cat" / "ok.png").write_bytes(b"ok")
    (tmp_path / "outside.jpg").write_bytes(b"secret")
    (root / "train" / "cat" / "link.jpg").symlink_to(target if target.startswith("/") else "../../" + target)
    with pytest.raises(
        DataError, match=r"pets: refused unsafe member 'train/cat/link\.jpg': link points outside the folder"
    ):
        open_tree(root)


def test_folder_links_that_stay_inside_are_followed_and_loops_are_cut(tmp_path):
    root = tmp_path / "pets"
    (root / "cat").mkdir(parents=True)
    (root / "cat" / "real.png").write_bytes(b"pixels")
    (root / "cat" / "alias.png").symlink_to("real.png")
    (root / "cat" / "loop").symlink_to("..")  # would walk forever if followed
    (root / "kitten").symlink_to("cat")
    with open_tree(root) as tree:
        assert sorted(tree.names) == ["cat/alias.png", "cat/real.png", "kitten/alias.png", "kitten/real.png"]
        assert dict(tree.read({"cat/alias.png"})) == {"cat/alias.png": b"pixels"}


def test_a_folder_linked_out_of_the_dataset_is_refused(tmp_path):
    (tmp_path / "elsewhere").mkdir()
    root = tmp_path / "pets"
    root.mkdir()
    (root / "cat").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(DataError, match="refused unsafe member 'cat': link points outside the folder"):
        open_tree(root)
