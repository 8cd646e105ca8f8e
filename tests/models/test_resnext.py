"""ResNeXt for CIFAR against the paper's parameter counts (models/resnext.py)."""

import keras
import numpy as np

from imgclf.models.resnext import build_resnext


def trainable(model):
    return int(sum(np.prod(w.shape) for w in model.trainable_weights))


def with_classifier(features, classes=10):
    return keras.Model(features.input, keras.layers.Dense(classes)(features.output))


def test_resnext29_8x64d_has_the_papers_34_4m_parameters():
    model = with_classifier(build_resnext(32, depth=29, cardinality=8, bottleneck_width=64, widen_factor=4))
    assert model.count_params() == 34_484_170  # including BatchNormalization moving statistics
    # 34,484,170 minus the 2 x 28,736 moving mean/variance entries.
    assert trainable(model) == 34_426_698


def test_resnext29_16x64d_parameters():
    model = with_classifier(build_resnext(32, depth=29, cardinality=16, bottleneck_width=64, widen_factor=4))
    assert trainable(model) == 68_155_210  # 68.1M in the paper; total minus 2 x 50,240 moving statistics
    assert model.count_params() == 68_255_690


def test_resnext_stages_and_downsampling():
    model = build_resnext(32, depth=11, cardinality=4, bottleneck_width=8, widen_factor=1)
    outputs = [model.get_layer(f"stage{s}_block1_out").output.shape[1:] for s in (1, 2, 3)]
    assert [tuple(o) for o in outputs] == [(32, 32, 64), (16, 16, 128), (8, 8, 256)]
    assert model.get_layer("stage2_block1_grouped").groups == 4
    assert model.get_layer("stage3_block1_grouped").filters == 4 * 8 * 4
