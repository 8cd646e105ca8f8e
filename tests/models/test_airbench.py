"""The airbench94 network against the paper's code, and its two initialisations (models/airbench.py)."""

import keras
import numpy as np
import pytest

from imgclf.errors import ParamsError
from imgclf.models.airbench import PATCH_DIM, AirbenchParams, build, build_airbench, start_as_identity
from imgclf.models.spec import BuildContext

# airbench94.py's make_net, counted layer by layer: the 2x2 stem (3 -> 24, with bias) 312; the convolutions
# 9 * (24*64 + 64*64 + 64*256 + 256*256 + 256*256 + 256*256) = 1,967,616; the BatchNormalization shifts
# 2 * (64 + 256 + 256) = 1,152; the bias-free 256 -> 10 classifier 2,560.
PAPER_PARAMETERS = 312 + 1_967_616 + 1_152 + 2_560


def trainable(model) -> int:
    return sum(int(keras.ops.size(w)) for w in model.trainable_weights)


def test_parameter_count_matches_the_papers_network():
    model = build(AirbenchParams(whiten=False), BuildContext((32, 32, 3), 10, 0))
    assert trainable(model) == PAPER_PARAMETERS  # with the paper's bias-free classifier


def test_batchnorm_learns_a_shift_but_no_scale_and_the_last_map_is_3x3():
    features = build_airbench(32)
    norms = [layer for layer in features.layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert len(norms) == 6 and all(not n.scale and n.center for n in norms)
    assert tuple(features.get_layer("pool").input.shape[1:]) == (3, 3, 256)


def test_widths_must_name_three_groups():
    AirbenchParams(widths=[8, 16, 16]).check("params.yaml", "models.airbench.")
    with pytest.raises(ParamsError, match=r"models\.airbench\.widths must list 3 widths .* got \[64, 256\]"):
        AirbenchParams(widths=[64, 256]).check("params.yaml", "models.airbench.")


def correlated_pictures(n: int = 48, size: int = 16, seed: int = 0) -> np.ndarray:
    """uint8 pictures whose neighbouring pixels and channels are correlated, as photographs' are."""
    rng = np.random.default_rng(seed)
    light = rng.normal(size=(n, size + 1, size + 1, 1))
    light = (light[:, 1:, 1:] + light[:, :-1, 1:] + light[:, 1:, :-1] + light[:, :-1, :-1]) / 4
    pictures = light + 0.3 * rng.normal(size=(n, size, size, 3))
    return np.clip(128 + 60 * pictures, 0, 255).astype(np.uint8)


def stem_outputs(model, pictures: np.ndarray) -> np.ndarray:
    features = model.get_layer(model.name)
    stem = keras.Model(features.input, features.layers[1].output)  # the stem, whitened or not
    return np.asarray(stem(pictures.astype("float32") / 127.5 - 1.0)).reshape(-1, 2 * PATCH_DIM)


def test_whiten_freezes_the_stem_at_decorrelated_unit_variance_directions_of_the_training_patches():
    pictures = correlated_pictures()
    recipe = AirbenchParams(widths=[8, 16, 16], whiten=True, whiten_bias_epochs=0, identity_init=False)
    model = build(recipe, BuildContext((16, 16, 3), 10, 0, train_images=pictures))
    out = stem_outputs(model, pictures)
    first = out[:, :PATCH_DIM]
    np.testing.assert_allclose(first.mean(0), 0.0, atol=1e-4)
    # The paper's eps keeps the covariance a hair under the identity.
    np.testing.assert_allclose(np.cov(first, rowvar=False), np.eye(PATCH_DIM), atol=0.02)
    np.testing.assert_allclose(out[:, PATCH_DIM:], -first, atol=1e-5)
    # Frozen: the stem's 312 weights are not trained; unwhitened, they are.
    plain = build(AirbenchParams(widths=[8, 16, 16], whiten=False), BuildContext((16, 16, 3), 10, 0))
    assert trainable(plain) - trainable(model) == 2 * 2 * 3 * 24 + 24
    unwhitened = np.cov(stem_outputs(plain, pictures)[:, :PATCH_DIM], rowvar=False)
    assert np.abs(unwhitened - np.eye(PATCH_DIM)).max() > 0.2


def test_whitening_spreads_its_sample_over_a_split_stored_class_by_class():
    """The split stores its classes one after another; the paper's first 5,000 pictures would be a few classes."""
    from imgclf.models.airbench import WHITEN_PICTURES

    dark, bright = (
        correlated_pictures(WHITEN_PICTURES, 16, seed).astype(int) + shift for seed, shift in ((1, -40), (2, 40))
    )
    pictures = np.clip(np.concatenate([dark, bright]), 0, 255).astype(np.uint8)  # class 0, then 1: twice the sample
    recipe = AirbenchParams(widths=[8, 16, 16], whiten=True, identity_init=False)
    model = build(recipe, BuildContext((16, 16, 3), 2, 0, train_images=pictures))
    centred = stem_outputs(model, pictures)[:, :PATCH_DIM].mean(0)  # over the whole split, both classes
    np.testing.assert_allclose(centred, 0.0, atol=0.02)


def test_whiten_needs_the_24_wide_stem_and_the_training_pictures():
    with pytest.raises(ParamsError, match=r"models\.airbench\.whiten needs models\.airbench\.stem_width 24 .* got 8"):
        AirbenchParams(whiten=True, stem_width=8).check("params.yaml", "models.airbench.")
    with pytest.raises(ValueError, match="training pictures"):
        build(AirbenchParams(widths=[8, 16, 16], whiten=True), BuildContext((16, 16, 3), 10, 0))


def test_identity_init_passes_each_convolutions_input_through_its_first_filters():
    features = build_airbench(16, (8, 16, 16), 8)
    start_as_identity(features)
    x = np.random.default_rng(0).normal(size=(2, 7, 7, 16)).astype("float32")
    for name, channels in (("group2_conv1", 8), ("group2_conv2", 16)):
        layer = features.get_layer(name)
        x_in = x[..., : layer.input.shape[-1]]
        np.testing.assert_allclose(np.asarray(layer(x_in))[..., :channels], x_in[..., :channels], atol=1e-6)
    # Filters past the input's channels keep their random start.
    assert np.abs(features.get_layer("group2_conv1").get_weights()[0][..., 8:]).sum() > 0


def test_a_direction_grayscale_pictures_do_not_vary_along_gives_no_constant_stem_channel():
    """Grayscale pictures have no colour variance: whitened, 8 of the 12 directions would be constant channels,
    whose gradients the BatchNormalizations after them blow up (an L2 penalty of millions on the digits)."""
    gray = correlated_pictures()[..., :1].repeat(3, axis=-1)
    recipe = AirbenchParams(widths=[8, 16, 16], whiten=True, identity_init=False)
    out = stem_outputs(build(recipe, BuildContext((16, 16, 3), 10, 0, train_images=gray)), gray)
    spread = out[:, :PATCH_DIM].std(0)
    np.testing.assert_allclose(spread, 1.0, atol=0.05)
