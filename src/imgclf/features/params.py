"""params.yaml's ``features`` section: the frozen backbone whose embeddings featurize caches."""

from __future__ import annotations

from dataclasses import dataclass

from ..constraints import ListOf, Number, OneOf, Text, param
from ..errors import ParamsError
from .catalog import BACKBONES, alpha_problem


@dataclass(frozen=True)
class FeaturesParams:
    backbone: str = param("resnet50", Text())
    weights: str = param("none", Text())  # imagenet | none | path to a weights file
    alpha: float = param(1.0, Number(float, 0, 4, "right"))
    image_size: int = param(32, Number(int, 32, 1024))
    batch_size: int = param(64, Number(int, 1))
    precision: str = param("auto", OneOf(("auto", "float32", "bfloat16")))
    views: int = param(1, Number(int, 1, 32))  # 1 + augmented views of each training picture cached
    shards: list = param([0], ListOf(Number(int, 0)))  # [0, 1, ..., N-1]: one DVC stage per shard, joined

    def check(self, where: str, prefix: str) -> None:
        if self.backbone not in BACKBONES:
            raise ParamsError(
                f"{where}: features.backbone must be one of {', '.join(sorted(BACKBONES))}; got {self.backbone!r}"
            )
        if problem := alpha_problem(self.backbone, self.weights, self.alpha):
            raise ParamsError(f"{where}: {problem}")
        if not self.weights:
            raise ParamsError(
                f"{where}: features.weights must be 'imagenet', 'none' or a path to a weights file; got ''"
            )
        if self.shards != list(range(len(self.shards))) or not self.shards:
            raise ParamsError(
                f"{where}: features.shards must list the shard indices 0..N-1 in order ([0] for one shard, "
                f"[0, 1] for two; dvc.yaml's foreach runs one stage per item); got {self.shards!r}"
            )
