import dataclasses
import os

import pytest

from fakes import image_tree, tar_of
from imgclf.data.fingerprint import source_fingerprint
from imgclf.errors import DataError
from imgclf.params import DataParams


def folder(path) -> DataParams:
    return dataclasses.replace(DataParams(), dataset="folder", path=str(path))


def test_adding_replacing_or_renaming_an_image_changes_the_fingerprint(tmp_path):
    root = image_tree(tmp_path / "pets", {"train/cat": 2, "train/dog": 2})
    first = source_fingerprint(folder(root))
    assert first["files"] == 4 and first == source_fingerprint(folder(root))  # stable when nothing changes
    image_tree(tmp_path / "pets", {"train/cat": 3}, seed=5)  # one more cat, the first two rewritten
    added = source_fingerprint(folder(root))
    assert added["files"] == 5 and added["fingerprint"] != first["fingerprint"]
    os.rename(root / "train" / "cat" / "002.png", root / "train" / "dog" / "009.png")
    assert source_fingerprint(folder(root))["fingerprint"] != added["fingerprint"]


def test_an_archive_is_fingerprinted_by_size_and_time(tmp_path):
    archive = tar_of(image_tree(tmp_path / "pets", {"cat": 2, "dog": 2}), tmp_path / "pets.tar.gz")
    first = source_fingerprint(folder(archive))
    os.utime(archive, ns=(0, archive.stat().st_mtime_ns + 10**9))
    assert source_fingerprint(folder(archive))["fingerprint"] != first["fingerprint"]


def test_named_datasets_are_identified_by_their_params():
    assert source_fingerprint(DataParams()) == {"dataset": "digits", "url": "", "md5": ""}


def test_a_missing_source_is_named(tmp_path):
    with pytest.raises(DataError, match=r"nope: no such folder or archive \(data\.path\)"):
        source_fingerprint(folder(tmp_path / "nope"))


def test_a_relative_path_is_read_from_the_project_root_dvc_names(tmp_path, monkeypatch):
    """DVC runs a queued experiment's stages in a copy under .dvc/tmp/exps and names the project in DVC_ROOT."""
    image_tree(tmp_path / "shared" / "pets", {"cat": 2, "dog": 2})
    (tmp_path / "project" / ".dvc" / "tmp" / "exps" / "tmp123").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "project" / ".dvc" / "tmp" / "exps" / "tmp123")
    monkeypatch.setenv("DVC_ROOT", str(tmp_path / "project"))
    assert source_fingerprint(folder("../shared/pets"))["files"] == 4
    assert source_fingerprint(folder("../shared/pets"))["path"] == "../shared/pets"  # recorded as written
    with pytest.raises(DataError, match=r"^\.\./nope \(read as .*/project/\.\./nope\): no such folder"):
        source_fingerprint(folder("../nope"))
