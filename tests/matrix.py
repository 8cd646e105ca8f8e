"""The real-data model matrix, shared by the two test files that split it across the suite's two workers.

A few hundred CIFAR-10 JPEGs from ../shared, an ImageNet MobileNet-0.25 backbone, one model through
train -> evaluate -> export with `dvc repro`, then `imgclf predict` on the test pictures' files: the three
top-1s must agree to within one picture. This guard would have caught a fine-tuned model that evaluate and
export could not load, and bfloat16 embeddings that the exported model did not reproduce.
"""

from __future__ import annotations

import json
import tarfile
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest
import yaml

from fakes import SHARED
from imgclf.hardware import native_bfloat16
from imgclf.models.registry import MODELS
from projects import clone, run

CIFAR10 = SHARED / "datasets" / "cifar10-jpg.tar.gz"
WEIGHTS = SHARED / "weights" / "mobilenet_1_0_224_tf_no_top_alpha025.h5"
AVAILABLE = CIFAR10.exists() and WEIGHTS.exists()
REASON = f"needs the real CIFAR-10 JPEGs and MobileNet weights under {SHARED}"
PER_CLASS = {"train": 16, "test": 8}  # 240 pictures: 80 test pictures, so one picture is 1.25 points
TINY = {name: spec.small for name, spec in MODELS.items()}  # seconds per model: the agreement is what is tested

# Models of embeddings under float32, and the head under bfloat16 where the CPU has it (there
# `features.precision: auto` may choose it): the training embeddings in bfloat16, the exported backbone.
# The float32 head is scored with flip TTA (the backbone run on the mirror as featurize did for
# test_flip.npy): a one-epoch model of pictures answers nearly every picture and its mirror alike, so the
# head is the model that tells (tests/export covers both kinds); the other cases score without it.
EMBEDDING_CASES = [
    (name, "float32", "flip" if name == "head" else "none")
    for name, spec in MODELS.items()
    if spec.inputs == "embeddings"
]
EMBEDDING_CASES += [("head", "bfloat16", "none")] if native_bfloat16() else []
IMAGE_MODELS = [name for name, spec in MODELS.items() if spec.inputs == "images"]
# airbench is scored with the six-view TTA that only models of pictures have (evaluation/tta.py): the shifted
# views go through evaluate's numpy and the exported model's Shift layers.
IMAGE_TTA = {"airbench": "flip_translate"}
# airbench trains in mixed_bfloat16, its hour recipe on CPUs with AVX512-BF16 (docs/models.md): the model it saves
# computes in float32, which export and predict must reproduce (emulated, and slower, on other CPUs).
IMAGE_TRAIN_PRECISION = {"airbench": "mixed_bfloat16"}


def real_pictures(folder: Path) -> Path:
    """The first PER_CLASS train and test JPEGs of every class, as class folders."""
    taken = Counter()
    with tarfile.open(CIFAR10) as archive:
        for member in archive:
            parts = member.name.split("/")  # cifar10-jpg/<split>/<class>/<name>.jpg
            if not member.isfile() or len(parts) != 4 or taken[parts[1], parts[2]] >= PER_CLASS[parts[1]]:
                continue
            taken[parts[1], parts[2]] += 1
            (folder / parts[1] / parts[2]).mkdir(parents=True, exist_ok=True)
            (folder / parts[1] / parts[2] / parts[3]).write_bytes(archive.extractfile(member).read())
            if sum(taken.values()) == 10 * sum(PER_CLASS.values()):
                break
    return folder


def matrix_project(tmp_path_factory) -> tuple[Path, Path]:
    pictures = real_pictures(tmp_path_factory.mktemp("cifar10"))
    root = clone(
        tmp_path_factory.mktemp("matrix"),
        {"dataset": "folder", "path": str(pictures), "val_fraction": 0.25},
        features={"backbone": "mobilenet", "alpha": 0.25, "weights": str(WEIGHTS), "image_size": 64},
        export={"formats": []},  # every format is held to the Keras model in tests/export; here, Keras itself
        models=TINY,
    )
    return root, pictures


def check_model(
    root: Path, pictures: Path, model: str, precision: str, tta: str = "none", train_precision: str = "float32"
) -> None:
    """Train, evaluate and export ``model`` with `dvc repro`, predict the test files; the top-1s must agree.
    ``precision`` is featurize's, ``train_precision`` train.mixed_precision."""
    from imgclf.cli import main as imgclf

    params = yaml.safe_load((root / "params.yaml").read_text())
    params["model"] = model
    params["features"]["precision"] = precision
    params["evaluate"]["tta"] = tta
    params["train"]["mixed_precision"] = train_precision
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    run(
        root, "dvc", "repro", "evaluate", "export"
    )  # two stages side by side: export reads the model evaluate scores, not its figures
    evaluated = json.loads((root / "metrics" / "eval.json").read_text())
    exported = json.loads((root / "metrics" / "export.json").read_text())
    manifest = json.loads((root / "data" / "features" / "manifest.json").read_text())
    trained = json.loads((root / "data" / "train" / "train.json").read_text())
    assert manifest["precision"] == precision and evaluated["tta"] == tta
    assert train_precision == "float32" or trained["precision"] == train_precision  # linear_probe: float64
    out = root / f"predict-{model}-{precision}-{tta}.csv"
    imgclf(["predict", str(pictures / "test"), "--model", str(root / "data" / "export"), "--out", str(out)])
    table = pd.read_csv(out, dtype=str)
    predicted = (table["label_1"] == table["path"].str.split("/").str[-2]).mean()
    one = 1 / evaluated["images"]
    assert len(table) == evaluated["images"] == 80
    assert abs(exported["formats"]["keras"]["top1"] - evaluated["top1"]) <= one + 1e-9
    assert abs(predicted - evaluated["top1"]) <= one + 1e-9
    # Picture by picture: equal top-1s can hide different predictions.
    scored = pd.read_csv(root / "metrics" / "predictions.csv", dtype=str).set_index("image")["predicted"]
    files = table["path"].str.split("/").str[-3:].str.join("/")  # test/<class>/<file>, as predictions.csv names them
    differ = (table["label_1"].to_numpy() != scored.loc[files].to_numpy()).sum()
    assert differ <= 1, f"imgclf predict and evaluate disagree on {differ} of {len(table)} test pictures"
    card = (root / "data" / "export" / "model_card.md").read_text()
    assert ("with its mirror image's" in card) == (tta != "none")


skip_without_data = pytest.mark.skipif(not AVAILABLE, reason=REASON)
