"""CIFAR from its official archives, through a mirror on a local HTTP server (data/cifar.py)."""

import dataclasses
import pickle

import numpy as np
import pytest

from fakes import RunsCode, cifar_archive, image_tree, md5_of, tar_of
from imgclf.data.arrays import read_classes, read_split
from imgclf.data.sources import fetch
from imgclf.errors import DataError, DownloadError
from imgclf.params import DataParams


def data(**changes) -> DataParams:
    return dataclasses.replace(DataParams(), **changes)


@pytest.fixture
def served_cifar(http_server, tmp_path):
    def serve(dataset="cifar10", replace=None):
        path, md5, members = cifar_archive(tmp_path / f"{dataset}.tar.gz", dataset, replace=replace)
        http_server.files[f"/{dataset}.tar.gz"] = path.read_bytes()
        return http_server.url(f"/{dataset}.tar.gz"), md5, members

    return serve


def test_cifar10_from_a_mirror(served_cifar, tmp_path):
    url, md5, members = served_cifar("cifar10")
    report = fetch(data(dataset="cifar10", url=url, md5=md5), seed=0, out=tmp_path / "raw")
    images, labels = read_split(tmp_path / "raw", "train")
    assert images.shape == (100, 32, 32, 3) and report["train"] == 100 and report["test"] == 20
    row = members["data_batch_1"][b"data"][0]  # 1024 red, 1024 green, 1024 blue values
    assert np.array_equal(images[0, :, :, 0].ravel(), row[:1024])
    assert np.array_equal(images[0, :, :, 2].ravel(), row[2048:])
    assert labels[:3].tolist() == members["data_batch_1"][b"labels"][:3]
    assert read_classes(tmp_path / "raw") == [f"class{i}" for i in range(10)]


@pytest.mark.parametrize("mode, classes", [("fine", 100), ("coarse", 20)])
def test_cifar100_keeps_fine_and_coarse_labels(served_cifar, tmp_path, mode, classes):
    url, md5, members = served_cifar("cifar100")
    fetch(data(dataset="cifar100", url=url, md5=md5, label_mode=mode, image_size=24), seed=0, out=tmp_path)
    images, labels = read_split(tmp_path, "test")
    assert images.shape == (20, 24, 24, 3)
    assert labels.tolist() == members["test"][f"{mode}_labels".encode()]
    assert len(read_classes(tmp_path)) == classes
    for key in ("fine_labels", "coarse_labels"):
        assert np.load(tmp_path / f"train_{key}.npy").tolist() == members["train"][key.encode()]


def test_cifar_mirror_with_the_wrong_file_fails_the_published_checksum(served_cifar, tmp_path):
    url, _, _ = served_cifar("cifar10")
    with pytest.raises(DownloadError, match="md5 mismatch: expected c58f30108f718f92721af3b95e74349a"):
        fetch(data(dataset="cifar10", url=url), seed=0, out=tmp_path)


def test_tampered_cifar_pickle_cannot_run_code_even_with_matching_md5(served_cifar, tmp_path):
    marker = tmp_path / "pwned"
    evil = pickle.dumps({"data": RunsCode(f"touch {marker}")}, protocol=2)
    url, md5, _ = served_cifar("cifar10", replace={"test_batch": evil})
    with pytest.raises(DataError, match=r"test_batch: refused to load: forbidden global (posix|os)\.system"):
        fetch(data(dataset="cifar10", url=url, md5=md5), seed=0, out=tmp_path / "raw")
    assert not marker.exists()


def test_cifar_archive_without_batches_is_refused(http_server, tmp_path):
    archive = tar_of(image_tree(tmp_path / "x", {"a/b": 1}), tmp_path / "x.tar.gz")
    http_server.files["/x.tar.gz"] = archive.read_bytes()
    with pytest.raises(DataError, match="not a CIFAR python archive"):
        fetch(data(dataset="cifar10", url=http_server.url("/x.tar.gz"), md5=md5_of(archive)), 0, tmp_path / "raw")
