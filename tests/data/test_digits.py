"""The embedded default source: scikit-learn's digits as RGB images with a held-out test set (data/digits.py)."""

import dataclasses

import numpy as np

from imgclf.data.arrays import read_classes, read_split
from imgclf.data.sources import fetch
from imgclf.params import DataParams


def data(**changes) -> DataParams:
    return dataclasses.replace(DataParams(), **changes)


def test_digits_are_rgb_uint8_at_the_asked_size_with_a_stratified_test_set(tmp_path):
    report = fetch(data(image_size=16, test_fraction=0.25), seed=0, out=tmp_path)
    train, train_y = read_split(tmp_path, "train")
    test, test_y = read_split(tmp_path, "test")
    assert train.shape[1:] == (16, 16, 3) and train.dtype == np.uint8
    assert len(train) + len(test) == 1797 and report["test"] == len(test) == 450
    assert np.array_equal(train[..., 0], train[..., 2])  # gray replicated into RGB
    assert read_classes(tmp_path) == [str(d) for d in range(10)]
    # stratified: each class keeps its share within one image
    share = np.bincount(test_y) / np.bincount(np.concatenate([train_y, test_y]))
    assert np.all(np.abs(share - 0.25) < 0.03)


def test_digits_hold_out_depends_on_the_seed_only(tmp_path):
    fetch(data(), seed=3, out=tmp_path / "a")
    fetch(data(), seed=3, out=tmp_path / "b")
    fetch(data(), seed=4, out=tmp_path / "c")
    a, b, c = (read_split(tmp_path / k, "test")[0] for k in "abc")
    assert np.array_equal(a, b) and not np.array_equal(a, c)
