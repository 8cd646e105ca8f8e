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
    import dataclasses, json, pathlib, sys, tempfile
    import keras, numpy as np
    assert keras.backend.backend() == "jax"
    from imgclf.architectures.classifier import image_classifier
    from imgclf.architectures.resnext import build_resnext
    from imgclf.batches import Batches
    from imgclf.layers import GroupedConv2D
    from imgclf.params import Augment, ResNeXtParams, TrainParams
    from imgclf.training import fit_classifier

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (16, 32, 32, 3), dtype=np.uint8)
    labels = np.arange(16) % 4
    features = build_resnext(32, depth=11, cardinality=2, bottleneck_width=4, widen_factor=1, implementation="native")
    # Flip only: XLA takes about 30 s on 2 CPU cores to compile the random translation.
    model = image_classifier(features, 32, 4, Augment(flip=True, translate=0), dropout=0.0, seed=0)
    logits = model.predict(images, verbose=0)
    recipe = dataclasses.replace(ResNeXtParams(), epochs=1, batch_size=8, sam_rho=0.05, warmup_epochs=0.0)
    before = [w.copy() for w in model.get_weights()]
    result = fit_classifier(model, recipe, TrainParams(), Batches(images, labels, 4, 8, seed=0),
                            Batches(images, labels, 4, 8), pathlib.Path(tempfile.mkdtemp()) / "live", "models.resnext")
    changed = any(not np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    x = rng.normal(size=(2, 8, 8, 16)).astype("float32")
    native, split = (GroupedConv2D(16, 3, groups=4, strides=2, implementation=i) for i in ("native", "split"))
    native.build(x.shape); split.build(x.shape); split.set_weights(native.get_weights())
    gap = float(np.max(np.abs(np.asarray(native(x)) - np.asarray(split(x)))))
    from imgclf.distribution import placement
    parallel = placement("data_parallel")  # keras.distribution.DataParallel over the 2 host devices
    dense = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    dense.compile(optimizer="sgd", loss="mse")
    dense.fit(np.ones((8, 4), "float32"), np.ones((8, 2), "float32"), batch_size=8, verbose=0)
    print(json.dumps({"shape": list(logits.shape), "changed": changed, "epochs": result.epochs_run, "grouped_gap": gap,
                      "replicas": parallel.replicas}))
    """
)


def test_forward_pass_sam_step_and_data_parallel_under_jax():
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
    assert result["shape"] == [16, 4]
    assert result["changed"] and result["epochs"] == 1
    assert result["grouped_gap"] < 1e-4
    assert result["replicas"] == 2
