"""What the embedding cache was made from: the record featurize writes and fine-tuning rebuilds the backbone from."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from ..errors import DataError
from ..io import read_json, write_json

MANIFEST = "manifest.json"


@dataclass(frozen=True)
class FeatureManifest:
    backbone: str
    keras_application: str
    weights: str  # imagenet | none | a path, as params gave it
    weights_sha256: str | None
    alpha: float
    image_size: int  # px, the backbone's input side
    input_image_size: int  # px, the stored images' side
    preprocessing: str  # caffe | tf | torch | none
    precision: str  # float32 | bfloat16: of the training and validation embeddings (the test ones are float32)
    embedding_dim: int
    dtype: str  # of the cached vectors
    count: dict  # split -> images
    seed: int = 0  # what a random init (weights none) was drawn from: export and fine-tuning rebuild it
    views: int = 1  # train_views.npy holds views - 1 augmented views of each training picture
    precision_check: dict = dataclasses.field(default_factory=dict)  # how features.precision was decided
    run: dict = dataclasses.field(default_factory=dict)  # hardware and versions (hardware.run_info)

    def save(self, folder: str | Path) -> None:
        write_json(Path(folder) / MANIFEST, dataclasses.asdict(self))

    @classmethod
    def load(cls, folder: str | Path) -> FeatureManifest:
        raw = read_json(Path(folder) / MANIFEST)
        names = {f.name for f in dataclasses.fields(cls)}
        missing = sorted(names - set(raw) - {"run", "precision_check", "seed"})
        if missing:
            raise DataError(
                f"{Path(folder) / MANIFEST}: not a features manifest (missing {', '.join(missing)}); rerun featurize"
            )
        if "seed" not in raw and raw.get("weights") == "none":
            raise DataError(f"{Path(folder) / MANIFEST}: made before manifests recorded their seed; rerun featurize")
        return cls(**{k: v for k, v in raw.items() if k in names})
