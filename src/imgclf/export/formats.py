"""Writing the end-to-end model in each format: Keras, TF SavedModel, TFLite (float32 and full-integer int8), ONNX.

Each writer takes the finished model (or the SavedModel the others convert
from) and a path in the stage's temporary output folder.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import keras
import numpy as np

from ..errors import PipelineError
from ..io import normalize_keras_archive
from ..runtime import quiet_native_logs

SIGNATURE = "serving_default"  # what TF Serving and most tools call by default
INPUT_NAME = "images"
ONNX_OPSET = 17


class ExportError(PipelineError):
    """A format could not be written, or does not compute what the Keras model computes."""


def write_keras(model: keras.Model, path: Path) -> None:
    model.save(path)
    normalize_keras_archive(path)


def write_saved_model(model: keras.Model, path: Path) -> None:
    """A SavedModel whose ``serving_default`` signature takes uint8 ``images`` and returns probabilities."""
    import tensorflow as tf

    size = int(model.input_shape[1])
    archive = keras.export.ExportArchive()
    # No archive.track(model): the endpoint's trace captures every variable already, and tracking them as
    # well stores each weight twice (keras-team/keras#23553: a 190 MB SavedModel for a 95 MB ResNet50).
    archive.add_endpoint(
        name=SIGNATURE,
        fn=lambda images: model(images, training=False),
        input_signature=[tf.TensorSpec((None, size, size, 3), tf.uint8, name=INPUT_NAME)],
    )
    archive.write_out(str(path), verbose=False)


def write_tflite(saved_model: Path, path: Path) -> None:
    import tensorflow as tf

    with quiet_native_logs():  # the converter logs each ignored option
        path.write_bytes(tf.lite.TFLiteConverter.from_saved_model(str(saved_model)).convert())


def write_tflite_weights(saved_model: Path, path: Path, weights: str) -> None:
    """Weights stored in ``weights`` (float16 or int8, "dynamic range"), activations computed in float32.

    Nothing to calibrate. float16 halves the file and agrees with the float model almost everywhere; int8
    quarters it, and agrees better than full-integer int8 on backbones whose error builds up through many
    layers (MobileNet-0.25: docs/export.md).
    """
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_saved_model(str(saved_model))
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if weights == "float16":
        converter.target_spec.supported_types = [tf.float16]
    with quiet_native_logs():
        path.write_bytes(converter.convert())


def write_tflite_int8(saved_model: Path, path: Path, calibration: np.ndarray) -> None:
    """Full-integer weights and activations, calibrated on ``calibration`` (N, S, S, 3) uint8 training pictures.

    The input stays uint8 pixels (no quantization needed: they are integers) and
    the output float32 probabilities, so it is used like the float model.
    """
    import tensorflow as tf

    def representative() -> Iterator[list[np.ndarray]]:
        for image in calibration:
            yield [image[None]]

    converter = tf.lite.TFLiteConverter.from_saved_model(str(saved_model))
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.uint8
    converter.inference_output_type = tf.float32
    with quiet_native_logs():
        path.write_bytes(converter.convert())


def write_onnx(saved_model: Path, path: Path) -> None:
    """tf2onnx's converter, in its own process (it prints pages of logs and keeps graph state)."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "tf2onnx.convert",
            "--saved-model",
            str(saved_model),
            "--output",
            str(path),
            "--opset",
            str(ONNX_OPSET),
            "--signature_def",
            SIGNATURE,
            "--tag",
            "serve",
        ],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0 or not path.exists():
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise ExportError(f"onnx: tf2onnx could not convert the SavedModel ({last})")
