"""The README's own-images example as a user runs it: two classes in pets/train/{cat,dog}, pets/test/{cat,dog}."""

import json

import numpy as np
import pytest
from PIL import Image

from projects import STAGES, clone, metrics, ran, run

pytestmark = pytest.mark.slow


def photo(path, bright: bool, seed: int) -> None:
    """A 16x16 picture: cats bright, dogs dark, so even a random-feature head can tell them apart."""
    rng = np.random.default_rng(seed)
    base = 190 if bright else 60
    Image.fromarray(np.clip(rng.normal(base, 25, (16, 16, 3)), 0, 255).astype(np.uint8)).save(path)


def pets_folder(root):
    for split, count in (("train", 10), ("test", 4)):
        for cls in ("cat", "dog"):
            (root / split / cls).mkdir(parents=True, exist_ok=True)
            for i in range(count):
                photo(root / split / cls / f"{i:03d}.png", cls == "cat", seed=[split == "test", cls == "cat", i])
    return root


@pytest.fixture(scope="module")
def pets(tmp_path_factory):
    """A fresh clone, then the README's line: dvc exp run -S data.dataset=folder -S data.path=... -S data.image_size=64."""
    # Export writes model.keras only (tests/export/test_formats.py checks every format). The default ResNet50:
    # a random MobileNet's embeddings of these pictures do not separate bright from dark.
    root = clone(tmp_path_factory.mktemp("project"), export={"formats": []})
    folder = pets_folder(tmp_path_factory.mktemp("data") / "pets")
    first = run(
        root, "dvc", "exp", "run", "-S", "data.dataset=folder", "-S", f"data.path={folder}", "-S", "data.image_size=64"
    )
    return root, folder, first


def test_a_two_class_folder_runs_end_to_end_with_meaningful_metrics(pets):
    root, _, first = pets
    assert ran(first) == list(STAGES)
    result = metrics(root)
    assert result["top1"] >= 0.75 and result["images"] == 8  # bright cats, dark dogs: chance is 0.5
    assert "top5" not in result and result["notes"] == ["top5 not reported: with 2 classes it is 1.0 by construction"]
    per_class = (root / "metrics" / "per_class.csv").read_text().splitlines()
    assert per_class[0].startswith("class,") and [line.split(",")[0] for line in per_class[1:]] == ["cat", "dog"]


def test_an_unchanged_folder_reruns_nothing_but_the_check(pets):
    root, _, _ = pets
    assert ran(run(root, "dvc", "repro")) == ["validate"]


def test_an_added_image_reruns_fetch_and_everything_after_it(pets):
    root, folder, _ = pets
    photo(folder / "train" / "cat" / "new.png", True, seed=99)
    assert ran(run(root, "dvc", "repro", "split")) == ["validate", "fetch", "split"]
    assert json.loads((root / "data" / "raw" / "report.json").read_text())["train"] == 21
    changed = json.loads(run(root, "dvc", "status", "--json").stdout)
    assert set(changed) >= {"featurize_shard@0", "train", "evaluate", "export"}  # through data/split


@pytest.mark.parametrize(
    "setting, written",
    [
        ("train.jit_compile=true", "jit_compile: true"),
        ("train.jit_compile=false", "jit_compile: false"),
        ("recipes/finetune.yaml:learning_rate=0.00001", "learning_rate: 1e-05"),  # YAML 1.2 float, a string to PyYAML
        ("recipes/resnext.yaml:++ema=0.999", "ema: 0.999"),  # a recipe key the file did not list
    ],
)
def test_values_pass_validation_as_written_by_dash_s(pets, setting, written):
    root, _, _ = pets
    result = run(root, "dvc", "exp", "run", "-S", setting, "validate")
    assert ran(result) == ["validate"]
    file = setting.split(":")[0] if ":" in setting else "params.yaml"
    assert written in (root / file).read_text()
