"""features.precision: bfloat16 for the training-side embeddings only where it pays, decided the same way on
every run of a machine: from the CPU, the backbone and the embeddings themselves, never from a timing.

bfloat16 keeps 8 bits of mantissa, so its embeddings differ from float32's: by
0.34% (median relative L2) for ImageNet ResNet50 at 224 px, but by 9% for
MobileNet-0.25 at 128 px, and a random-init ResNet50 at 32 px by 0.8%. Whether it
is faster depends on the network: on this project's AVX512-BF16 CPUs a ResNet50
featurized 1.20x as fast, a MobileNet-0.25 0.52-0.78x (depthwise convolutions
run slower in it; benchmarks section 2c: airbench trains 1.26x, MobileNets 0.7x).
``auto`` therefore keeps bfloat16 only on a CPU with bfloat16 units, for a
backbone family measured faster in it (``FASTER_IN_BFLOAT16``), and only where
its embeddings of a check batch are within ``TOLERANCE`` of float32's: the same
data, the same network and the same CPU give the same decision, so featurize's
bytes depend on nothing DVC does not track (an earlier version timed both and
remembered the verdict in ~/.cache). The manifest records the decision and the
error. Either way the test embeddings are made in float32, the precision of the
exported model, so evaluate scores the model that is shipped.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

TOLERANCE = 0.005  # largest median relative L2 distance of a bfloat16 embedding from the float32 one
# keras.applications families (prefixes of features.backbone) measured faster in bfloat16 on AVX512-BF16
FASTER_IN_BFLOAT16 = ("resnet",)
CHECK_BATCHES = 2  # batches of training pictures compared
POLICIES = {"float32": "float32", "bfloat16": "mixed_bfloat16"}  # precision -> Keras dtype policy


@dataclass(frozen=True)
class Measurement:
    error_median: float  # relative L2 distance bfloat16 -> float32, over the check pictures
    error_max: float


@dataclass(frozen=True)
class Choice:
    precision: str  # float32 | bfloat16: what the training and validation embeddings are made in
    reason: str
    measurement: Measurement | None = None

    def record(self) -> dict:
        """For the manifest: the decision and the embedding error (a function of the data and the machine)."""
        return {
            "precision": self.precision,
            "reason": self.reason,
            "tolerance": TOLERANCE,
            **(asdict(self.measurement) if self.measurement else {}),
        }


def decide(setting: str, native: bool, backbone: str, measure) -> Choice:
    """The precision for ``features.precision`` = ``setting``; ``measure()`` returns a Measurement (called only
    for ``auto`` on a CPU with bfloat16 units and a backbone measured faster in it)."""
    if setting != "auto":
        return Choice(setting, f"features.precision: {setting}")
    if not native:
        return Choice("float32", "auto: this CPU has no bfloat16 units (AVX512-BF16 or AMX)")
    if not backbone.startswith(FASTER_IN_BFLOAT16):
        return Choice("float32", f"auto: {backbone} is not among the backbones measured faster in bfloat16")
    m = measure()
    if m.error_median > TOLERANCE:
        return Choice(
            "float32", f"auto: median embedding error {m.error_median:.2%}, above the {TOLERANCE:.1%} tolerance", m
        )
    return Choice("bfloat16", f"auto: median embedding error {m.error_median:.2%}, within {TOLERANCE:.1%}", m)


def measure(float32_model, bfloat16_model, images: np.ndarray, batch_size: int) -> Measurement:
    """Both models' embeddings of the same pictures (whole batches): how far bfloat16's are from float32's."""
    images = np.asarray(images)

    def embed(model):
        return np.concatenate(
            [
                np.asarray(model.predict_on_batch(images[i : i + batch_size]), np.float32)
                for i in range(0, len(images), batch_size)
            ]
        )

    reference, half = embed(float32_model), embed(bfloat16_model)
    error = np.linalg.norm(half - reference, axis=1) / np.maximum(np.linalg.norm(reference, axis=1), 1e-12)
    return Measurement(error_median=round(float(np.median(error)), 6), error_max=round(float(error.max()), 6))
