"""The views of test-time augmentation (evaluation/tta.py): what each is, and the Keras layers that make them
(models/layers.py) computing the pictures a numpy implementation of the same views makes."""

import numpy as np
import pytest
from test_scoring import numpy_view

from imgclf.evaluation.tta import TTA_MODES, View, views


@pytest.mark.parametrize("tta", TTA_MODES)
def test_the_views_are_distinct_and_their_weights_sum_to_one(tta):
    chosen = views(tta)
    assert sum(v.weight for v in chosen) == pytest.approx(1.0)
    assert len({(v.mirror, v.shift) for v in chosen}) == len(chosen) == {"none": 1, "flip": 2, "flip_translate": 6}[tta]
    assert chosen[0] == View(False, 0, chosen[0].weight)  # the picture itself comes first


def test_a_shift_moves_the_picture_and_reflects_its_border():
    """The numpy views the layers are held to, pinned by hand."""
    picture = np.arange(4 * 5 * 1).reshape(1, 4, 5, 1)
    down = numpy_view(picture, View(False, 1, 1.0))[0, :, :, 0]
    np.testing.assert_array_equal(down[1:, 1:], picture[0, :-1, :-1, 0])  # everything one pixel down and right
    np.testing.assert_array_equal(down[0, 1:], picture[0, 1, :-1, 0])  # the new top row mirrors row 1, as np.pad
    np.testing.assert_array_equal(down[1:, 0], picture[0, :-1, 1, 0])  # reflect does (the edge is not repeated)
    up = numpy_view(picture, View(False, -1, 1.0))[0, :, :, 0]
    np.testing.assert_array_equal(up[:-1, :-1], picture[0, 1:, 1:, 0])
    mirrored_then_moved = numpy_view(picture, View(True, 1, 1.0))[0, :, :, 0]
    np.testing.assert_array_equal(mirrored_then_moved[1:, 1:], picture[0, :-1, ::-1, 0][:, :-1])


@pytest.mark.parametrize("dtype", ["uint8", "float32"])
def test_the_view_layers_give_the_pictures_and_weights_the_views_define(dtype):
    """StackViews and WeighViews against numpy, on every view of flip_translate."""
    import keras

    from imgclf.models.layers import StackViews, WeighViews

    chosen = views("flip_translate")
    pictures = np.random.default_rng(0).integers(0, 256, (3, 7, 6, 3)).astype(dtype)
    stacked = keras.ops.convert_to_numpy(StackViews([(v.mirror, v.shift) for v in chosen])(pictures))
    expected = np.stack([numpy_view(pictures, v) for v in chosen])
    np.testing.assert_array_equal(stacked.reshape(expected.shape), expected)
    probs = np.random.default_rng(1).random((len(chosen), 3, 4)).astype("float32")
    mean = keras.ops.convert_to_numpy(WeighViews([v.weight for v in chosen])(probs.reshape(-1, 4)))
    np.testing.assert_allclose(mean, sum(v.weight * p for v, p in zip(chosen, probs)), atol=1e-7)


def test_a_model_exported_with_flip_tta_before_stackviews_still_loads(tmp_path):
    """Exports made before StackViews held flip TTA as a Mirror layer and an Average; predict must load them."""
    import keras

    from imgclf.models.layers import Mirror
    from imgclf.models.loading import load_model

    inputs = keras.Input((4, 4, 3))
    plain = keras.Sequential([keras.Input((4, 4, 3)), keras.layers.Flatten(), keras.layers.Dense(2)])
    old = keras.Model(inputs, keras.layers.Average()([plain(inputs), plain(Mirror()(inputs))]))
    old.save(tmp_path / "old.keras")
    pictures = np.random.default_rng(0).random((2, 4, 4, 3)).astype("float32")
    expected = (plain.predict(pictures, verbose=0) + plain.predict(pictures[:, :, ::-1], verbose=0)) / 2
    np.testing.assert_allclose(load_model(tmp_path / "old.keras").predict(pictures, verbose=0), expected, atol=1e-6)


def test_the_views_are_defined_in_one_module_and_made_into_layers_in_one_place():
    """TTA is defined once: only evaluation/tta.py says what a mode's views are (it alone compares a value with a
    mode's name), and only evaluation/scoring.py builds the view layers, for evaluate and export alike."""
    import ast

    from fakes import REPO

    src = REPO / "src" / "imgclf"
    deciding, building = set(), set()
    for path in src.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Compare):
                named = [c.value for c in [node.left, *node.comparators] if isinstance(c, ast.Constant)]
                if any(value in TTA_MODES[1:] for value in named):
                    deciding.add(path.relative_to(src).as_posix())
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) in ("StackViews", "WeighViews"):
                building.add(path.relative_to(src).as_posix())
    assert deciding == {"evaluation/tta.py"}
    assert building == {"evaluation/scoring.py"}
