"""The airbench94 network against the paper's code (models/airbench.py)."""

import keras
import pytest

from imgclf.errors import ParamsError
from imgclf.models.airbench import AirbenchParams, build_airbench

# airbench94.py's make_net, counted layer by layer: the 2x2 stem (3 -> 24, with bias) 312; the convolutions
# 9 * (24*64 + 64*64 + 64*256 + 256*256 + 256*256 + 256*256) = 1,967,616; the BatchNormalization shifts
# 2 * (64 + 256 + 256) = 1,152; the bias-free 256 -> 10 classifier 2,560.
PAPER_PARAMETERS = 312 + 1_967_616 + 1_152 + 2_560


def trainable(model) -> int:
    return sum(int(keras.ops.size(w)) for w in model.trainable_weights)


def test_parameter_count_matches_the_papers_network():
    features = build_airbench(32)
    # Ours ends in the project's classifier (with a bias); the paper's in a bias-free one.
    assert trainable(features) + 256 * 10 == PAPER_PARAMETERS


def test_batchnorm_learns_a_shift_but_no_scale_and_the_last_map_is_3x3():
    features = build_airbench(32)
    norms = [layer for layer in features.layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert len(norms) == 6 and all(not n.scale and n.center for n in norms)
    assert tuple(features.get_layer("pool").input.shape[1:]) == (3, 3, 256)


def test_widths_must_name_three_groups():
    AirbenchParams(widths=[8, 16, 16]).check("params.yaml", "models.airbench.")
    with pytest.raises(ParamsError, match=r"models\.airbench\.widths must list 3 widths .* got \[64, 256\]"):
        AirbenchParams(widths=[64, 256]).check("params.yaml", "models.airbench.")
