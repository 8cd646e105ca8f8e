"""`imgclf predict`: pictures in any mode, folders, archives and bad files, prepared exactly as fetch prepares them."""

import argparse
import io
import json
import struct
import zlib

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from fakes import tar_of
from imgclf.data.arrays import read_split
from imgclf.data.sources import fetch
from imgclf.errors import DataError
from imgclf.io import write_json
from imgclf.params import DataParams
from imgclf.tools.predict import Bundle, classify, load_bundle, run

SIZE = 16
CLASSES = ["cat", "dog", "eel"]


def huge_png(width: int = 100_000, height: int = 100_000) -> bytes:
    """A PNG header declaring 10 billion pixels and no pixel data: must be refused, never decoded."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b"")


def mixed_folder(root):
    """Every Pillow mode the fetch stage accepts, nested folders, a non-picture and a broken picture."""
    rng = np.random.default_rng(0)
    (root / "a" / "b").mkdir(parents=True)
    rgb = rng.integers(0, 256, (30, 40, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(root / "a" / "photo.jpg", quality=95)
    Image.fromarray(np.dstack([rgb, np.full((30, 40), 128, np.uint8)]), "RGBA").save(root / "a" / "alpha.png")
    Image.fromarray(rgb[..., 0]).save(root / "a" / "b" / "gray.png")
    Image.fromarray(rgb).convert("P").save(root / "a" / "b" / "palette.gif")
    Image.fromarray(rgb).convert("CMYK").save(root / "a" / "b" / "print.jpg")
    Image.fromarray(rgb[..., 0].astype(np.uint16) * 257).save(root / "a" / "b" / "scan16.png")
    frames = [Image.fromarray(rng.integers(0, 256, (20, 20, 3), dtype=np.uint8)) for _ in range(3)]
    frames[0].save(root / "a" / "b" / "anim.gif", save_all=True, append_images=frames[1:])
    (root / "a" / "notes.txt").write_text("not a picture")
    (root / "a" / "b" / "broken.jpg").write_bytes(b"\xff\xd8 truncated")
    (root / "a" / "b" / "bomb.png").write_bytes(huge_png())
    return root


class Recorder:
    """A model stand-in that remembers every input it is given."""

    image_size = SIZE

    def __init__(self):
        self.seen = []

    def predict(self, images):
        self.seen.extend(images)
        return np.tile(np.array([[0.2, 0.5, 0.3]], np.float32), (len(images), 1))


def test_every_mode_nested_folders_and_bad_files(tmp_path):
    root = mixed_folder(tmp_path / "pics")
    recorder = Recorder()
    done, bad = classify(Bundle(recorder, CLASSES, SIZE, "center_crop"), [str(root)], 3, workers=2)
    names = sorted(name.rsplit("/", 1)[-1] for name, _ in done)
    assert names == ["alpha.png", "anim.gif", "gray.png", "palette.gif", "photo.jpg", "print.jpg", "scan16.png"]
    assert sorted(b.rsplit("/", 1)[-1] for b in bad) == ["bomb.png", "broken.jpg"]
    assert all(image.shape == (SIZE, SIZE, 3) and image.dtype == np.uint8 for image in recorder.seen)


def test_a_picture_gets_bit_identical_input_through_predict_and_through_fetch(tmp_path):
    root = tmp_path / "pets"
    rng = np.random.default_rng(1)
    for split in ("train", "test"):
        for cls in CLASSES[:2]:
            (root / split / cls).mkdir(parents=True)
            for i in range(2):
                h, w = (30, 44) if i else (50, 20)
                Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(root / split / cls / f"{i}.jpg")
    fetch(DataParams(dataset="folder", path=str(root), image_size=SIZE, resize="pad"), 0, tmp_path / "raw")
    stored, _ = read_split(tmp_path / "raw", "test")  # sorted by class, then file
    recorder = Recorder()
    done, _ = classify(Bundle(recorder, CLASSES, SIZE, "pad"), [str(root / "test")], 64, workers=1)
    order = [name for name, _ in done]
    assert order == sorted(order)  # a folder is read in sorted order, the same as fetch stores it
    np.testing.assert_array_equal(np.stack(recorder.seen), stored)


@pytest.fixture(scope="module")
def export_folder(tmp_path_factory):
    """A real (tiny) Keras model of uint8 pictures with an export folder's preprocessing.json."""
    import keras

    from imgclf.export.formats import write_keras

    folder = tmp_path_factory.mktemp("export")
    keras.utils.set_random_seed(0)
    inputs = keras.Input((SIZE, SIZE, 3), dtype="uint8")
    x = keras.layers.GlobalAveragePooling2D()(keras.ops.cast(inputs, "float32") / 255.0)
    model = keras.Model(inputs, keras.layers.Softmax()(keras.layers.Dense(3)(x)))
    write_keras(model, folder / "model.keras")
    write_json(folder / "preprocessing.json", {"image_size": SIZE, "resize": "center_crop", "classes": CLASSES})
    return folder


def namespace(paths, **changes):
    base = {"model": None, "top_k": 2, "out": None, "on_bad_image": "error", "batch_size": 4, "rev": None}
    return argparse.Namespace(paths=[str(p) for p in paths], **{**base, **changes})


def test_folders_and_archives_to_csv_and_json(tmp_path, export_folder, capsys):
    root = mixed_folder(tmp_path / "pics")
    (root / "a" / "b" / "broken.jpg").unlink()
    (root / "a" / "b" / "bomb.png").unlink()
    archive = tar_of(root / "a" / "b", tmp_path / "more.tar.gz")
    run(namespace([root, archive], model=str(export_folder), out=str(tmp_path / "p.csv")))
    table = pd.read_csv(tmp_path / "p.csv")
    assert list(table.columns) == ["path", "label_1", "probability_1", "label_2", "probability_2"]
    assert len(table) == 7 + 5 and table["label_1"].isin(CLASSES).all()
    assert (table["probability_1"] >= table["probability_2"]).all()
    assert any(p.startswith(f"{archive}/") for p in table["path"])
    run(namespace([root / "a" / "photo.jpg"], model=str(export_folder / "model.keras"), out=str(tmp_path / "p.json")))
    rows = json.loads((tmp_path / "p.json").read_text())
    assert rows[0]["path"].endswith("photo.jpg") and rows[0]["label_1"] in CLASSES
    assert "predict: 1 picture(s)" in capsys.readouterr().err


def test_unreadable_pictures_are_listed_or_skipped(tmp_path, export_folder):
    root = mixed_folder(tmp_path / "pics")
    with pytest.raises(DataError, match=r"2 unreadable picture\(s\): .*bomb\.png, .*broken\.jpg \(--on-bad-image skip"):
        run(namespace([root], model=str(export_folder), out=str(tmp_path / "p.csv")))
    assert not (tmp_path / "p.csv").exists()  # nothing half-written
    run(namespace([root], model=str(export_folder), out=str(tmp_path / "p.csv"), on_bad_image="skip"))
    assert len(pd.read_csv(tmp_path / "p.csv")) == 7


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda tmp: ([tmp / "nope"], None), r"nope: no such file or folder"),
        (lambda tmp: ([(tmp / "empty").mkdir() or tmp / "empty"], None), r"empty: no pictures in this folder"),
        (lambda tmp: ([tmp], (tmp / "notexport").mkdir() or tmp / "notexport"), r"notexport: not an export"),
    ],
)
def test_bad_paths_and_models_are_named(tmp_path, export_folder, make, message):
    paths, model = make(tmp_path)
    with pytest.raises(DataError, match=message):
        run(namespace(paths, model=str(model or export_folder)))


def test_a_bundle_reads_its_preprocessing(export_folder):
    bundle = load_bundle(export_folder)
    assert (bundle.image_size, bundle.resize, bundle.classes) == (SIZE, "center_crop", CLASSES)
    assert bundle.runner.predict(np.zeros((2, SIZE, SIZE, 3), np.uint8)).shape == (2, 3)


def test_one_picture_from_memory_is_one_row(tmp_path, export_folder):
    buffer = io.BytesIO()
    Image.new("RGB", (10, 10), (255, 0, 0)).save(buffer, "PNG")
    (tmp_path / "red.png").write_bytes(buffer.getvalue())
    run(namespace([tmp_path / "red.png"], model=str(export_folder), out=str(tmp_path / "p.csv"), top_k=9))
    table = pd.read_csv(tmp_path / "p.csv")
    assert len(table) == 1 and "label_3" in table and "label_4" not in table  # top-k capped at the classes


@pytest.mark.parametrize(
    "name, message",
    [
        ("model.tflite", r"model\.tflite: not a readable tflite model \(The model is not a valid Flatbuffer"),
        ("model.onnx", r"model\.onnx: not a readable onnx model \(.*INVALID_PROTOBUF"),
        ("model.keras", r"model\.keras: not a Keras model file"),
    ],
)
def test_a_corrupt_model_file_is_one_line_naming_it(tmp_path, export_folder, name, message):
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "preprocessing.json").write_bytes((export_folder / "preprocessing.json").read_bytes())
    (folder / name).write_bytes(b"truncated by a failed copy")
    with pytest.raises(DataError, match=message):
        run(namespace([tmp_path], model=str(folder / name)))


def test_an_unwritable_out_fails_before_any_picture_is_classified(tmp_path, export_folder, monkeypatch):
    from imgclf.tools import predict

    monkeypatch.setattr(predict, "classify", lambda *a: pytest.fail("classified before checking --out"))
    (tmp_path / "README.md").write_text("a file")
    with pytest.raises(DataError, match=r"README\.md/x\.csv: cannot write there"):
        run(namespace([tmp_path], model=str(export_folder), out=str(tmp_path / "README.md" / "x.csv")))


def test_out_suffix_is_read_whatever_its_case(tmp_path, export_folder):
    Image.new("RGB", (10, 10)).save(tmp_path / "black.png")
    run(namespace([tmp_path / "black.png"], model=str(export_folder), out=str(tmp_path / "P.JSON")))
    assert json.loads((tmp_path / "P.JSON").read_text())[0]["path"].endswith("black.png")


def test_a_missing_export_says_how_to_make_it_or_that_it_is_being_rebuilt(tmp_path):
    import os

    with pytest.raises(DataError, match=r"data/export: no such model file or folder; `dvc repro export` writes"):
        load_bundle(tmp_path / "data" / "export")
    (tmp_path / "data" / f".export.tmp-{os.getppid()}-abc").mkdir(parents=True)  # a running export stage's
    with pytest.raises(DataError, match=rf"while the export stage rebuilds .*export \(process {os.getppid()}\)"):
        load_bundle(tmp_path / "data" / "export")
