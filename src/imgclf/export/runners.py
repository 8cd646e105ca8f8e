"""One interface over every exported format: ``predict(uint8 batch) -> probabilities``.

A ``.tflite`` file runs on the LiteRT interpreter (no TensorFlow import) and
an ``.onnx`` file on onnxruntime; the Keras file and the SavedModel need
TensorFlow. ``imgclf predict`` and the export stage's parity checks both use it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import DataError

PREPROCESSING = "preprocessing.json"  # next to the model files: how `imgclf predict` prepares a picture
FORMATS = ("keras", "saved_model", "tflite", "tflite_float16", "tflite_dynamic", "tflite_int8", "onnx")
FILES = {  # format -> its name in an export folder
    "keras": "model.keras",
    "saved_model": "saved_model",
    "tflite": "model.tflite",
    "tflite_float16": "model_float16.tflite",
    "tflite_dynamic": "model_dynamic.tflite",
    "tflite_int8": "model_int8.tflite",
    "onnx": "model.onnx",
}
QUANTIZATION = {  # what each format computes in, for metrics/export.json and the model card
    "tflite_float16": "float16 weights, float32 activations",
    "tflite_dynamic": "dynamic range: int8 weights, float32 activations",
    "tflite_int8": "full integer: int8 weights and activations, calibrated on training pictures",
}


class Runner:
    """A loaded model: ``image_size`` px square uint8 pictures in, probabilities out."""

    image_size: int

    def predict(self, images: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class KerasRunner(Runner):
    def __init__(self, path: Path):
        from ..models.loading import load_model

        self.model = load_model(path)
        self.image_size = int(self.model.input_shape[1])

    def predict(self, images):
        return np.asarray(self.model.predict_on_batch(images), dtype=np.float32)


class SavedModelRunner(Runner):
    def __init__(self, path: Path):
        import tensorflow as tf

        self.tf = tf
        self.signature = tf.saved_model.load(str(path)).signatures["serving_default"]
        self.image_size = int(self.signature.structured_input_signature[1]["images"].shape[1])

    def predict(self, images):
        outputs = self.signature(images=self.tf.constant(images))
        return np.asarray(next(iter(outputs.values())), dtype=np.float32)


class TFLiteRunner(Runner):
    def __init__(self, path: Path):
        from ai_edge_litert.interpreter import Interpreter

        from ..data.parallel import available_cores

        self.interpreter = Interpreter(model_path=str(path), num_threads=available_cores())
        self.input = self.interpreter.get_input_details()[0]
        self.output = self.interpreter.get_output_details()[0]
        self.image_size = int(self.input["shape"][1])
        self.interpreter.allocate_tensors()  # creates the XNNPACK delegate now, inside load_runner's quiet start
        self.batch = None

    def predict(self, images):
        if self.batch != len(images):  # resize once per batch size, not per call
            self.interpreter.resize_tensor_input(self.input["index"], images.shape)
            self.interpreter.allocate_tensors()
            self.batch = len(images)
        self.interpreter.set_tensor(self.input["index"], np.ascontiguousarray(images, dtype=self.input["dtype"]))
        self.interpreter.invoke()
        out = self.interpreter.get_tensor(self.output["index"])
        scale, zero = self.output["quantization"]
        return (out.astype(np.float32) - zero) * scale if scale else out.astype(np.float32)


class OnnxRunner(Runner):
    def __init__(self, path: Path):
        import onnxruntime

        try:
            self.session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime's errors (InvalidProtobuf, Fail, ...) share no base but Exception
            raise ValueError(str(exc)) from None
        self.name = self.session.get_inputs()[0].name
        self.image_size = int(self.session.get_inputs()[0].shape[1])

    def predict(self, images):
        return np.asarray(self.session.run(None, {self.name: images})[0], dtype=np.float32)


def format_of(path: Path) -> str:
    path = Path(path)
    if path.is_dir() and (path / "saved_model.pb").exists():
        return "saved_model"
    suffix = path.suffix.lower()
    if suffix == ".keras":
        return "keras"
    if suffix == ".tflite":
        return next((kind for kind in QUANTIZATION if path.name == FILES[kind]), "tflite")
    if suffix == ".onnx":
        return "onnx"
    raise DataError(f"{path}: not a model this tool reads (a .keras, .tflite or .onnx file, or a SavedModel folder)")


def load_runner(path: Path) -> Runner:
    """A Runner for a model file or SavedModel folder; DataError naming it otherwise."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such model file or folder")
    kind = format_of(path)
    runner = {"keras": KerasRunner, "saved_model": SavedModelRunner, "onnx": OnnxRunner}.get(kind, TFLiteRunner)
    from ..runtime import quiet_native_logs, start_keras

    if kind in ("keras", "saved_model"):
        start_keras()
    try:
        with quiet_native_logs():  # LiteRT announces its delegate, TensorFlow its devices
            return runner(path)
    except (ValueError, OSError, RuntimeError) as exc:  # a truncated or foreign file
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise DataError(
            f"{path}: not a readable {kind} model ({reason}); export it again (`dvc repro export`)"
        ) from None
