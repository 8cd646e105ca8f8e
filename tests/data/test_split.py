import numpy as np
import pytest

from imgclf.data.arrays import read_split, write_classes, write_subset
from imgclf.data.split import limit_per_class, split_dataset, stratified_holdout
from imgclf.errors import DataError

LABELS = np.repeat(np.arange(4), [40, 30, 20, 10])


def test_limit_per_class_caps_each_class_and_depends_on_seed():
    picked = limit_per_class(LABELS, 15, seed=0)
    assert np.bincount(LABELS[picked]).tolist() == [15, 15, 15, 10]
    assert np.array_equal(picked, limit_per_class(LABELS, 15, seed=0))
    assert not np.array_equal(picked, limit_per_class(LABELS, 15, seed=1))
    assert np.array_equal(limit_per_class(LABELS, None, seed=0), np.arange(len(LABELS)))


def test_stratified_holdout_keeps_class_shares():
    kept, held = stratified_holdout(LABELS, 0.2, seed=0)
    assert np.bincount(LABELS[held]).tolist() == [8, 6, 4, 2]
    assert set(kept).isdisjoint(held) and len(kept) + len(held) == len(LABELS)


def test_a_class_with_one_image_is_named_with_the_minimum_it_needs():
    labels = np.array([0, 0, 0, 1, 2, 2])
    with pytest.raises(
        DataError, match=r"class\(es\) 'dog' \(1 image\) have a single image; each class needs at least 2"
    ):
        stratified_holdout(labels, 0.5, seed=0, what="test", names=["cat", "dog", "eel"])


def test_a_fraction_too_small_for_the_classes_says_which_fractions_work():
    labels = np.repeat(np.arange(4), 5)  # 20 images, 4 classes: at least 4 must be held out
    with pytest.raises(
        DataError,
        match=r"set of 0\.1 from 20 images in 4 classes: 2 images held out cannot cover "
        r"every class; use a fraction between 0\.2 and 0\.8",
    ):
        stratified_holdout(labels, 0.1, seed=0, what="validation")


@pytest.fixture
def raw(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (len(LABELS), 4, 4, 3), dtype=np.uint8)
    test = rng.integers(0, 256, (20, 4, 4, 3), dtype=np.uint8)
    write_subset(tmp_path / "raw", "train", images, LABELS)
    write_subset(tmp_path / "raw", "test", test, np.arange(20) % 4)
    write_classes(tmp_path / "raw", ["a", "b", "c", "d"])
    return tmp_path / "raw"


def test_split_leaves_the_test_set_untouched(raw, tmp_path):
    counts = split_dataset(raw, tmp_path / "split", val_fraction=0.25, limit=None, test_limit=None, seed=0)
    assert counts == {"train": 75, "val": 25, "test": 20, "classes": 4}
    for name in ("test",):
        a, la = read_split(raw, name)
        b, lb = read_split(tmp_path / "split", name)
        assert np.array_equal(a, b) and np.array_equal(la, lb)
    train, _ = read_split(tmp_path / "split", "train")
    val, _ = read_split(tmp_path / "split", "val")
    pool = {im.tobytes() for im in read_split(raw, "train")[0]}
    assert {im.tobytes() for im in train} | {im.tobytes() for im in val} == pool
    assert isinstance(train, np.memmap) and train.dtype == np.uint8


def test_split_limits_apply_per_class(raw, tmp_path):
    counts = split_dataset(raw, tmp_path / "split", val_fraction=0.2, limit=10, test_limit=2, seed=0)
    assert counts == {"train": 32, "val": 8, "test": 8, "classes": 4}
    _, test_labels = read_split(tmp_path / "split", "test")
    assert np.bincount(test_labels).tolist() == [2, 2, 2, 2]


def test_dataset_description_fingerprints_the_test_set(raw, tmp_path):
    from imgclf.data.split import describe_dataset
    from imgclf.io import write_json

    write_json(raw / "report.json", {"dataset": "folder", "path": "/data/pets"})
    counts = split_dataset(raw, tmp_path / "a", val_fraction=0.25, limit=None, test_limit=None, seed=0)
    a = describe_dataset(raw, tmp_path / "a", counts)
    assert a["dataset"] == "folder" and a["source"] == "/data/pets" and a["test"] == 20
    # a different train/val split leaves the test set, and so its fingerprint, alone
    counts = split_dataset(raw, tmp_path / "b", val_fraction=0.5, limit=None, test_limit=None, seed=1)
    assert describe_dataset(raw, tmp_path / "b", counts)["test_set"] == a["test_set"]
    counts = split_dataset(raw, tmp_path / "c", val_fraction=0.25, limit=None, test_limit=2, seed=0)
    assert describe_dataset(raw, tmp_path / "c", counts)["test_set"] != a["test_set"]
