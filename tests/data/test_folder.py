"""Your own images: folders and archives of class folders, in any mode Pillow opens (data/folder.py, data/sources.py)."""

import dataclasses

import numpy as np
import pytest

from fakes import SHARED, image_tree, png_bytes, tar_of, zip_of
from imgclf.data.arrays import read_classes, read_split
from imgclf.data.sources import fetch
from imgclf.errors import DataError
from imgclf.params import DataParams


def data(**changes) -> DataParams:
    return dataclasses.replace(DataParams(), **changes)


def test_folder_with_train_and_test(tmp_path):
    root = image_tree(tmp_path / "pets", {"train/cat": 5, "train/dog": 4, "test/cat": 2, "test/dog": 3})
    report = fetch(data(dataset="folder", path=str(root), image_size=8), seed=0, out=tmp_path / "raw")
    assert read_classes(tmp_path / "raw") == ["cat", "dog"]
    images, labels = read_split(tmp_path / "raw", "test")
    assert images.shape == (5, 8, 8, 3) and labels.tolist() == [0, 0, 1, 1, 1]
    assert report["train"] == 9 and report["bad_images_skipped"] == 0


def test_class_folders_only_hold_out_a_stratified_test_set(tmp_path):
    root = image_tree(tmp_path / "pets", {"cat": 10, "dog": 10, "eel": 10})
    fetch(data(dataset="folder", path=str(root), test_fraction=0.2), seed=0, out=tmp_path / "raw")
    _, labels = read_split(tmp_path / "raw", "test")
    assert np.bincount(labels).tolist() == [2, 2, 2]


@pytest.mark.parametrize("pack", ["tar", "zip"])
def test_archives_with_a_wrapper_folder(tmp_path, pack):
    root = image_tree(tmp_path / "wrapped", {"train/cat": 3, "train/dog": 3, "test/cat": 1, "test/dog": 1})
    (root / "README.txt").write_text("not an image")
    archive = tar_of(root, tmp_path / "w.tgz") if pack == "tar" else zip_of(root, tmp_path / "w.zip")
    report = fetch(data(dataset="folder", path=str(archive), image_size=12), seed=0, out=tmp_path / "raw")
    assert (report["train"], report["test"], report["ignored_files"]) == (6, 2, 1)
    direct = image_tree(tmp_path / "plain", {"train/cat": 3, "train/dog": 3, "test/cat": 1, "test/dog": 1})
    fetch(data(dataset="folder", path=str(direct), image_size=12), seed=0, out=tmp_path / "raw2")
    assert np.array_equal(read_split(tmp_path / "raw", "train")[0], read_split(tmp_path / "raw2", "train")[0])


def test_any_pillow_image_becomes_rgb_at_the_asked_size(tmp_path):
    root = image_tree(tmp_path / "d", {"cat": 2, "dog": 2})
    rng = np.random.default_rng(1)
    (root / "cat" / "gray.png").write_bytes(png_bytes(rng, 40, mode="L"))
    from PIL import Image

    Image.new("P", (7, 5)).save(root / "dog" / "palette.gif")
    report = fetch(data(dataset="folder", path=str(root), image_size=10, test_fraction=0.34), 0, tmp_path / "raw")
    assert report["train"] + report["test"] == 6
    assert read_split(tmp_path / "raw", "train")[0].shape[1:] == (10, 10, 3)


def test_unreadable_images_are_listed(tmp_path):
    root = image_tree(tmp_path / "d", {"train/cat": 3, "train/dog": 3})
    (root / "train" / "cat" / "broken.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(DataError, match=r"1 unreadable image\(s\): train/cat/broken\.jpg \(data\.on_bad_image: skip"):
        fetch(data(dataset="folder", path=str(root)), seed=0, out=tmp_path / "raw")


def test_unreadable_images_can_be_skipped_and_counted(tmp_path):
    root = image_tree(tmp_path / "d", {"train/cat": 3, "train/dog": 3, "test/cat": 1, "test/dog": 1})
    (root / "train" / "cat" / "broken.jpg").write_bytes(b"not a jpeg")
    (root / "test" / "dog" / "cut.png").write_bytes(png_bytes(np.random.default_rng(0))[:30])
    report = fetch(data(dataset="folder", path=str(root), on_bad_image="skip"), seed=0, out=tmp_path / "raw")
    assert report["bad_images_skipped"] == 2
    assert report["bad_images"] == ["test/dog/cut.png", "train/cat/broken.jpg"]
    assert (report["train"], report["test"]) == (6, 2)
    assert not list((tmp_path / "raw").glob(".*pool*"))


def test_empty_class_folder_is_named(tmp_path):
    root = image_tree(tmp_path / "d", {"train/cat": 3, "train/dog": 3})
    (root / "train" / "eel").mkdir()
    with pytest.raises(DataError, match=r"class folder 'train/eel' has no images"):
        fetch(data(dataset="folder", path=str(root)), seed=0, out=tmp_path / "raw")


def test_empty_class_folder_in_an_archive_is_named(tmp_path):
    root = image_tree(tmp_path / "d", {"cat": 3, "dog": 3})
    (root / "eel").mkdir()
    (root / "eel" / "notes.txt").write_text("no images here")
    with pytest.raises(DataError, match=r"class folder 'eel' has no images"):
        fetch(data(dataset="folder", path=str(tar_of(root, tmp_path / "d.tar.gz"))), seed=0, out=tmp_path / "raw")


@pytest.mark.parametrize(
    "layout, message",
    [
        ({"cat": 3}, "found 1 class folder"),
        ({"train/cat": 2, "train/dog": 2, "test/eel": 1}, "test class folder.* not in train: eel"),
    ],
)
def test_bad_layouts(tmp_path, layout, message):
    root = image_tree(tmp_path / "d", layout)
    with pytest.raises(DataError, match=message):
        fetch(data(dataset="folder", path=str(root)), seed=0, out=tmp_path / "raw")


def test_missing_folder_path(tmp_path):
    with pytest.raises(DataError, match="absent: no such file or directory"):
        fetch(data(dataset="folder", path=str(tmp_path / "absent")), seed=0, out=tmp_path / "raw")


CIFAR10_JPG = SHARED / "datasets" / "cifar10-jpg.tar.gz"


@pytest.mark.skipif(not CIFAR10_JPG.exists(), reason=f"real CIFAR-10 JPEGs not found at {CIFAR10_JPG}")
def test_real_cifar10_jpeg_archive(tmp_path):
    from imgclf.data.split import split_dataset

    report = fetch(data(dataset="folder", path=str(CIFAR10_JPG)), seed=0, out=tmp_path / "raw")
    assert (report["train"], report["test"], report["classes"]) == (50_000, 10_000, 10)
    assert read_classes(tmp_path / "raw")[:3] == ["airplane", "automobile", "bird"]
    counts = split_dataset(tmp_path / "raw", tmp_path / "split", val_fraction=0.2, limit=20, test_limit=5, seed=0)
    assert counts == {"train": 160, "val": 40, "test": 50, "classes": 10}
    images, labels = read_split(tmp_path / "split", "train")
    assert images.shape == (160, 32, 32, 3) and np.bincount(labels).tolist() == [16] * 10
    assert 40 < images.mean() < 200  # real photos, not zeros


def test_a_class_without_test_images_is_reported_with_a_warning(tmp_path):
    root = image_tree(tmp_path / "pets", {"train/cat": 3, "train/dog": 3, "train/eel": 3, "test/cat": 1, "test/dog": 1})
    report = fetch(data(dataset="folder", path=str(root)), seed=0, out=tmp_path / "raw")
    assert report["classes_without_test_images"] == ["eel"]
    assert report["warnings"] == [
        "1 class(es) have no test images: eel; evaluate reports per-class figures and macro F1 only for classes "
        "with test images"
    ]


def test_a_class_with_a_single_image_is_named(tmp_path):
    root = image_tree(tmp_path / "pets", {"cat": 5, "dog": 1, "eel": 5})
    with pytest.raises(
        DataError, match=r"class\(es\) 'dog' \(1 image\) have a single image; each class needs at least 2"
    ):
        fetch(data(dataset="folder", path=str(root)), seed=0, out=tmp_path / "raw")


def test_a_16bit_scan_in_a_folder_is_stored_like_its_8bit_version(tmp_path):
    from PIL import Image

    gray = np.random.default_rng(0).integers(0, 256, (12, 12), dtype=np.uint8)
    root = image_tree(tmp_path / "pets", {"train/cat": 2, "train/dog": 2, "test/cat": 1, "test/dog": 1})
    Image.fromarray(gray).save(root / "test" / "cat" / "000.png")
    fetch(data(dataset="folder", path=str(root), image_size=12), seed=0, out=tmp_path / "a")
    Image.fromarray(gray.astype(np.uint16) * 257).save(root / "test" / "cat" / "000.png")
    fetch(data(dataset="folder", path=str(root), image_size=12), seed=0, out=tmp_path / "b")
    a, b = (read_split(tmp_path / k, "test")[0] for k in "ab")
    np.testing.assert_array_equal(a, b)
    assert a[0].mean() < 200  # not washed out to white


# ------------------------------------------------------------- photos: workers, duplicates


def phone_folder(root, rng, sizes=((60, 40), (40, 60), (64, 36), (30, 50))):
    """Non-square JPEGs, some stored sideways with an EXIF orientation, in train/ and test/."""
    from PIL import Image

    exif = Image.Exif()
    exif[0x0112] = 6
    for split, count in (("train", 6), ("test", 2)):
        for cls in ("cat", "dog"):
            (root / split / cls).mkdir(parents=True, exist_ok=True)
            for i in range(count):
                w, h = sizes[i % len(sizes)]
                picture = Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
                options = {"exif": exif.tobytes()} if i % 2 else {}
                picture.save(root / split / cls / f"{i:03d}.jpg", quality=90, **options)
    return root


def test_decoding_is_bit_identical_for_any_number_of_workers(tmp_path):
    from imgclf.data.folder import fetch_folder

    root = phone_folder(tmp_path / "phone", np.random.default_rng(0))
    params = data(dataset="folder", path=str(root), image_size=16, resize="center_crop")
    one = fetch_folder(params, 0, tmp_path / "one", workers=1)
    three = fetch_folder(params, 0, tmp_path / "three", workers=3)
    for split in ("train", "test"):
        assert (tmp_path / "one" / f"{split}_images.npy").read_bytes() == (
            tmp_path / "three" / f"{split}_images.npy"
        ).read_bytes()
    assert one == three
    assert one["resize"] == "center_crop" and one["exif_rotated"] == 8 and one["exif_unreadable"] == 0


def copy_file(src, dst):
    dst.parent.mkdir(parents=True, exist_ok=True)
    dst.write_bytes(src.read_bytes())


@pytest.fixture
def leaky(tmp_path):
    """train/cat/000 saved again as test/cat/leak.png and as train/dog/twin.png; test/dog/000 twice in test."""
    root = image_tree(tmp_path / "leaky", {"train/cat": 4, "train/dog": 4, "test/cat": 2, "test/dog": 2})
    copy_file(root / "train" / "cat" / "000.png", root / "test" / "cat" / "leak.png")
    copy_file(root / "train" / "cat" / "000.png", root / "train" / "dog" / "twin.png")
    copy_file(root / "test" / "dog" / "000.png", root / "test" / "dog" / "again.png")
    return root


def test_duplicates_within_and_across_splits_are_reported_with_examples(leaky, tmp_path):
    report = fetch(data(dataset="folder", path=str(leaky)), seed=0, out=tmp_path / "raw")
    copies = report["duplicates"]
    assert (copies["within_train"], copies["within_test"], copies["across_train_test"]) == (1, 1, 2)
    assert ["train/cat/000.png", "train/dog/twin.png"] in copies["examples"]
    assert ["train/cat/000.png", "test/cat/leak.png"] in copies["examples"]
    assert report["train"] == 9 and "dropped_from_train" not in copies
    assert any("2 training image(s) are also in the test set" in w for w in report["warnings"])


def test_drop_from_train_removes_every_train_copy_of_a_test_image(leaky, tmp_path):
    report = fetch(data(dataset="folder", path=str(leaky), duplicates="drop_from_train"), 0, tmp_path / "raw")
    assert report["duplicates"]["dropped_from_train"] == 2 and report["train"] == 7 and report["test"] == 6
    train, _ = read_split(tmp_path / "raw", "train")
    test, _ = read_split(tmp_path / "raw", "test")
    assert not {image.tobytes() for image in train} & {image.tobytes() for image in test}
    assert any("2 training image(s) also in the test set were dropped" in w for w in report["warnings"])


def test_a_held_out_test_set_is_checked_for_leaks_too(tmp_path):
    root = image_tree(tmp_path / "pets", {"cat": 10, "dog": 10})
    for i in range(10):  # every dog picture twice: some copies land on each side of the held-out split
        copy_file(root / "dog" / f"{i:03d}.png", root / "dog" / f"copy{i}.png")
    report = fetch(
        data(dataset="folder", path=str(root), test_fraction=0.3, duplicates="drop_from_train"), 0, tmp_path / "raw"
    )
    copies = report["duplicates"]
    assert copies["across_train_test"] > 0 and copies["dropped_from_train"] == copies["across_train_test"]
    train, _ = read_split(tmp_path / "raw", "train")
    test, _ = read_split(tmp_path / "raw", "test")
    assert not {image.tobytes() for image in train} & {image.tobytes() for image in test}


@pytest.mark.parametrize("key, value", [("resize", "stretch"), ("duplicates", "drop")])
def test_unknown_resize_or_duplicates_values_name_the_key(key, value):

    from imgclf.errors import ParamsError
    from imgclf.params import default_params_dict, parse_params

    raw = default_params_dict()
    raw["data"][key] = value
    with pytest.raises(ParamsError, match=rf"data\.{key} must be one of .*; got '{value}'"):
        parse_params(raw)
