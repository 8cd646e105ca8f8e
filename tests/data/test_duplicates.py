import numpy as np

from imgclf.data.duplicates import array_duplicates, find_duplicates


def test_counts_copies_within_each_split_and_train_images_also_in_test():
    train = [("a", "k1"), ("b", "k1"), ("c", "k2"), ("d", "k3")]
    test = [("x", "k2"), ("y", "k4"), ("z", "k4")]
    report, leaked = find_duplicates(train, test)
    assert (report["within_train"], report["within_test"], report["across_train_test"]) == (1, 1, 1)
    assert leaked == {2}
    assert report["examples"] == [["c", "x"], ["a", "b"], ["y", "z"]]  # leaks first


def test_examples_stop_at_ten():
    train = [(f"t{i}", "same") for i in range(30)]
    report, _ = find_duplicates(train, [])
    assert report["within_train"] == 29 and len(report["examples"]) == 10


def test_array_sources_compare_pixels_and_can_drop_leaks():
    rng = np.random.default_rng(0)
    train = rng.integers(0, 256, (5, 4, 4, 3), dtype=np.uint8)
    test = np.concatenate([train[[1, 3]], rng.integers(0, 256, (1, 4, 4, 3), dtype=np.uint8)])
    report, keep = array_duplicates(train, test, "keep")
    assert report["across_train_test"] == 2 and keep.tolist() == [0, 1, 2, 3, 4]
    report, keep = array_duplicates(train, test, "drop_from_train")
    assert report["dropped_from_train"] == 2 and keep.tolist() == [0, 2, 4]
