"""The model and training code is Keras 3 only, so it also runs on JAX (common on GPU hosts)."""

import importlib.util
import json
import os
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax is not installed")

SCRIPT = textwrap.dedent(
    """
    import dataclasses, json, pathlib, tempfile
    import keras, numpy as np
    assert keras.backend.backend() == "jax"
    from imgclf.models.classifier import image_classifier
    from imgclf.models.head import HeadParams, build_head
    from imgclf.models.layers import GroupedConv2D
    from imgclf.models.recipe import Augment
    from imgclf.models.resnext import build_resnext
    from imgclf.training.batches import Batches
    from imgclf.training.distribution import placement
    from imgclf.training.fit import fit_classifier
    from imgclf.training.sam import sharpness_aware

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    result = {}

    # A ResNeXt image classifier: raw pixels to logits, the native grouped convolution equal to the split one.
    features = build_resnext(32, depth=11, cardinality=2, bottleneck_width=4, widen_factor=1, implementation="native")
    model = image_classifier(features, 32, 4, Augment(flip=True, translate=0), dropout=0.0, seed=0)
    result["shape"] = list(model.predict(rng.integers(0, 256, (2, 32, 32, 3), dtype=np.uint8), verbose=0).shape)
    x = rng.normal(size=(2, 8, 8, 16)).astype("float32")
    native, split = (GroupedConv2D(16, 3, groups=4, strides=2, implementation=i) for i in ("native", "split"))
    native.build(x.shape); split.build(x.shape); split.set_weights(native.get_weights())
    result["grouped_gap"] = float(np.max(np.abs(np.asarray(native(x)) - np.asarray(split(x)))))

    # One SAM step equals the two-pass update computed by hand.
    xs = np.array([[1.0, 2.0], [0.5, -1.0], [2.0, 0.0]], "float32")
    ys = np.array([[1.0], [0.0], [2.0]], "float32")
    w0 = np.array([[0.3], [-0.2]], "float32")
    inner = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, use_bias=False)])
    inner.layers[0].set_weights([w0])
    sam = sharpness_aware(inner, rho=0.5)
    sam.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    sam.train_on_batch(xs, ys)
    grad = lambda w: 2 * xs.T @ (xs @ w - ys) / len(xs)
    g = grad(w0)
    expected = w0 - 0.1 * grad(w0 + 0.5 * g / np.linalg.norm(g))
    result["sam_gap"] = float(np.max(np.abs(inner.layers[0].get_weights()[0] - expected)))

    # fit_classifier, the project's training loop, on a head.
    emb = rng.normal(size=(32, 8)).astype("float32")
    labels = np.arange(32) % 4
    head = build_head(8, 4, [8], 0.0, np.zeros(8), np.ones(8), seed=0)
    recipe = dataclasses.replace(HeadParams(), epochs=2, batch_size=8, hidden_units=[8])
    fitted = fit_classifier(head, recipe, False, Batches(emb, labels, 4, 8, seed=0), Batches(emb, labels, 4, 8),
                            pathlib.Path(tempfile.mkdtemp()) / "live", "models.head")
    result["epochs"] = fitted.epochs_run

    # Data parallel over the 2 host devices: one step on 2 x 16 images = one step on 32 on one device.
    xd = rng.normal(size=(32, 8)).astype("float32")
    yd = np.eye(3, dtype="float32")[np.arange(32) % 3]

    def one_step():
        keras.utils.set_random_seed(0)
        dense = keras.Sequential([keras.Input((8,)), keras.layers.Dense(3)])
        dense.compile(optimizer=keras.optimizers.SGD(0.5), loss=keras.losses.CategoricalCrossentropy(from_logits=True))
        before = dense.get_weights()[0]
        dense.fit(xd, yd, batch_size=32, epochs=1, shuffle=False, verbose=0)
        return before, dense.get_weights()[0]

    start, single = one_step()
    parallel = placement("data_parallel")  # sets keras.distribution.DataParallel for what is built next
    result["replicas"] = parallel.replicas
    result["parallel_gap"] = float(np.max(np.abs(one_step()[1] - single)))
    result["parallel_moved"] = float(np.max(np.abs(single - start)))
    print(json.dumps(result))
    """
)


def test_forward_pass_sam_step_fit_and_data_parallel_under_jax():
    env = {
        **os.environ,
        "KERAS_BACKEND": "jax",
        "IMGCLF_NO_PROGRESS": "1",
        "JAX_PLATFORMS": "cpu",
        "XLA_FLAGS": "--xla_force_host_platform_device_count=2",
    }
    done = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["shape"] == [2, 4]
    assert result["grouped_gap"] < 1e-4
    assert result["sam_gap"] < 1e-5
    assert result["epochs"] == 2
    assert result["replicas"] == 2
    assert result["parallel_gap"] < 1e-5 and result["parallel_moved"] > 1e-3  # the same step, and a real one
