"""TensorFlow's MultiWorkerMirroredStrategy with a training step of our own (not ``fit``) on 127.0.0.1: does it
train a Keras 3 image model with BatchNormalization to the weights of one process on the global batch, and how
fast is each process against one process alone, each pinned to one core?

    python -m benchmarks.tf_workers [--models airbench,mobilenet_v2] [--steps 20]

The candidate engine for several CPU machines (docs/distribution.md): Keras 3's ``fit`` fails under this strategy
(keras-team/keras#20585), but its TF optimizer reduces gradients across replicas inside ``strategy.run``.
Prints one JSON line per figure; needs ``taskset`` and two free ports.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import subprocess
import sys
import time

BATCH = 128  # per process, as the figures


def strategy_for(index: int, ports: list[int]):
    import tensorflow as tf

    if len(ports) == 1:
        return tf.distribute.get_strategy()
    cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
    os.environ["TF_CONFIG"] = json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})
    return tf.distribute.MultiWorkerMirroredStrategy()


def all_layers(model):
    for layer in model.layers:
        yield layer
        if hasattr(layer, "layers"):
            yield from all_layers(layer)


def worker(model_name: str, index: int, ports: list[int], steps: int, global_batch: int) -> dict:
    """One process: ``steps`` SGD steps on its share of a fixed global batch; its pictures/s and final weights."""
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    import numpy as np

    strategy = strategy_for(index, ports)
    import keras
    import tensorflow as tf

    from imgclf.evaluation.scoring import without_augmentation
    from imgclf.models.registry import MODELS
    from imgclf.models.spec import BuildContext

    rng = np.random.default_rng(0)
    pictures = rng.integers(0, 256, (global_batch, 32, 32, 3)).astype(np.uint8)
    labels = rng.integers(0, 10, global_batch)
    share = global_batch // len(ports)
    mine = slice(index * share, (index + 1) * share)
    spec = MODELS[model_name]
    recipe = spec.params()
    if hasattr(recipe, "dropout"):  # masks drawn per process would differ from one process's
        recipe = dataclasses.replace(recipe, dropout=0.0)
    with strategy.scope():
        keras.utils.set_random_seed(0)
        built = spec.build(recipe, BuildContext((32, 32, 3), 10, 0, train_images=pictures))
        model = without_augmentation(built)  # random flips and shifts drawn per process would differ from one's
        for layer in all_layers(model):  # BatchNormalization's statistics over the global batch, unless told not
            if isinstance(layer, keras.layers.BatchNormalization):
                layer.synchronized = os.environ.get("TF_WORKERS_LOCAL_BN") != "1"
        optimizer = keras.optimizers.SGD(0.01, momentum=0.9)
        optimizer.build(model.trainable_variables)

    @tf.function
    def step(x, y):
        def replica(x, y):
            with tf.GradientTape() as tape:
                logits = model(x, training=True)
                per_picture = keras.losses.sparse_categorical_crossentropy(y, logits, from_logits=True)
                loss = tf.nn.compute_average_loss(per_picture, global_batch_size=global_batch)
            optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))
            return loss

        return strategy.run(replica, args=(x, y))

    x, y = tf.constant(pictures[mine].astype("float32")), tf.constant(labels[mine])
    step(x, y)  # traced
    start = time.perf_counter()
    for _ in range(steps):
        step(x, y)
    seconds = time.perf_counter() - start
    weights = np.concatenate([np.ravel(keras.ops.convert_to_numpy(v)) for v in model.weights])
    np.save(os.environ["TF_WORKERS_OUT"] + f"-{index}.npy", weights)
    return {"pictures_per_s": round(share * steps / seconds, 1)}


def launch(model_name: str, processes: int, steps: int, global_batch: int, out: str) -> list[dict]:
    """``processes`` workers, worker i pinned to core i; their JSON lines."""
    from imgclf.tools.cluster_demo import free_ports

    ports = free_ports(processes)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "TF_WORKERS_OUT": out}
    cmds = [
        [
            "taskset",
            "-c",
            str(i),
            sys.executable,
            "-m",
            "benchmarks.tf_workers",
            "--worker",
            model_name,
            str(i),
            ",".join(map(str, ports)),
            str(steps),
            str(global_batch),
        ]
        for i in range(processes)
    ]
    running = [subprocess.Popen(c, env=env, stdout=subprocess.PIPE, text=True) for c in cmds]
    results = []
    for p in running:
        stdout, _ = p.communicate(timeout=900)
        if p.returncode:
            raise RuntimeError(f"worker exited {p.returncode}: {stdout[-500:]}")
        results.append(json.loads(stdout.strip().splitlines()[-1]))
    return results


def compare(model_name: str, steps: int, folder: str) -> dict:
    import numpy as np

    one = launch(model_name, 1, steps, BATCH, f"{folder}/one")[0]
    two = launch(model_name, 2, steps, 2 * BATCH, f"{folder}/two")
    same_one = launch(model_name, 1, steps, 2 * BATCH, f"{folder}/global")[0]  # one process on the global batch
    w_two = [np.load(f"{folder}/two-{i}.npy") for i in range(2)]
    w_one = np.load(f"{folder}/global-0.npy")
    per_process = min(r["pictures_per_s"] for r in two)
    return {
        "model": model_name,
        "batch_per_process": BATCH,
        "one_process_pictures_per_s": one["pictures_per_s"],
        "two_processes_pictures_per_s_each": [r["pictures_per_s"] for r in two],
        "ratio": round(per_process / one["pictures_per_s"], 3),
        "weights_two_vs_one_on_global_batch": float(np.abs(w_two[0] - w_one).max()),
        "weights_worker0_vs_worker1": float(np.abs(w_two[0] - w_two[1]).max()),
        "one_process_on_global_batch_pictures_per_s": same_one["pictures_per_s"],
    }


def main(argv=None) -> None:
    import tempfile

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="airbench,mobilenet_v2")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument(
        "--local-bn", action="store_true", help="each worker's own BatchNormalization statistics (what it costs)"
    )
    parser.add_argument("--worker", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.local_bn:
        os.environ["TF_WORKERS_LOCAL_BN"] = "1"
    if args.worker:
        name, index, ports, steps, global_batch = args.worker
        result = worker(name, int(index), [int(p) for p in ports.split(",")], int(steps), int(global_batch))
        print(json.dumps(result), flush=True)
        return
    with tempfile.TemporaryDirectory() as folder:
        for name in args.models.split(","):
            print(json.dumps(compare(name, args.steps, folder)), flush=True)


if __name__ == "__main__":
    main()
