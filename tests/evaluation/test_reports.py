import json
import subprocess
import sys

import numpy as np
import pytest

from fakes import REPO
from imgclf.data.arrays import write_classes, write_subset
from imgclf.errors import DataError
from imgclf.evaluation.reports import check_classes


def test_a_model_trained_on_other_classes_is_refused_with_both_lists(tmp_path):
    with pytest.raises(
        DataError,
        match=r"train\.json: the model was trained on 3 classes \(cat, dog, eel\) but .*"
        r"classes\.json has 10 \(0, 1, 2, 3, 4 and 5 more\); retrain",
    ):
        check_classes({"classes": ["cat", "dog", "eel"]}, [str(d) for d in range(10)], tmp_path / "train", tmp_path)
    check_classes({"classes": ["a", "b"]}, ["a", "b"], tmp_path, tmp_path)  # the same list passes


def test_evaluate_stage_stops_with_one_line_before_loading_the_model(tmp_path):
    """Train on a 3-class folder, switch back to digits, `dvc repro -s evaluate`: one line, no traceback."""
    split = tmp_path / "split"
    write_subset(split, "test", np.zeros((2, 8, 8, 3), np.uint8), np.array([0, 1]))
    write_classes(split, [str(d) for d in range(10)])
    (tmp_path / "train").mkdir()
    (tmp_path / "train" / "train.json").write_text(json.dumps({"classes": ["cat", "dog", "eel"], "input": "images"}))
    done = subprocess.run(
        [
            sys.executable,
            str(REPO / "stages" / "evaluate.py"),
            "--split",
            str(split),
            "--features",
            str(tmp_path),
            "--train",
            str(tmp_path / "train"),
            "--out",
            str(tmp_path / "metrics"),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1
    assert done.stderr.startswith("error: ") and "model was trained on 3 classes" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and not (tmp_path / "metrics").exists()
