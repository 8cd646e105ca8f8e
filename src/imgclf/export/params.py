"""params.yaml's ``export`` section."""

from __future__ import annotations

from dataclasses import dataclass

from ..constraints import ListOf, Number, OneOf, param


@dataclass(frozen=True)
class ExportParams:
    """What stage export writes besides model.keras, and how strictly it checks it."""

    formats: list = param(["saved_model", "tflite"], ListOf(OneOf(("saved_model", "tflite", "onnx"))))
    quantize: str = param("none", OneOf(("none", "float16", "dynamic", "int8")))  # also model_<quantize>.tflite
    calibration_images: int = param(300, Number(int, 1))  # training pictures int8 is calibrated on
    batch_size: int = param(64, Number(int, 1))  # pictures per call when measuring
    min_agreement: float = param(0.999, Number(float, 0, 1))  # float formats' top-1 agreement with Keras
    max_probability_diff: float = param(0.0001, Number(float, 0))  # float formats' largest probability difference
