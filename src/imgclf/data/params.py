"""params.yaml's ``data`` section: what stages fetch and split read."""

from __future__ import annotations

from dataclasses import dataclass

from ..constraints import Number, OneOf, OrNull, Text, is_hex, param
from ..errors import ParamsError
from .images import RESIZE_MODES

DATASETS = ("digits", "cifar10", "cifar100", "folder")


@dataclass(frozen=True)
class DataParams:
    dataset: str = param("digits", OneOf(DATASETS))
    url: str = param("", Text())
    md5: str = param("", Text())
    label_mode: str = param("fine", OneOf(("fine", "coarse")))
    path: str = param("", Text())
    image_size: int = param(32, Number(int, 8, 1024))
    resize: str = param("center_crop", OneOf(RESIZE_MODES))  # how a non-square picture becomes square
    on_bad_image: str = param("error", OneOf(("error", "skip")))
    duplicates: str = param("keep", OneOf(("keep", "drop_from_train")))  # exact copies of test images in train
    test_fraction: float = param(0.2, Number(float, 0, 1, "neither"))
    val_fraction: float = param(0.1, Number(float, 0, 1, "neither"))
    limit_per_class: int | None = param(None, OrNull(Number(int, 1)))
    test_limit_per_class: int | None = param(None, OrNull(Number(int, 1)))

    def check(self, where: str, prefix: str) -> None:
        if self.dataset == "folder" and not self.path:
            raise ParamsError(f"{where}: data.path must name a directory or archive when data.dataset is 'folder'")
        if self.label_mode == "coarse" and self.dataset != "cifar100":
            raise ParamsError(
                f"{where}: data.label_mode 'coarse' exists only for data.dataset 'cifar100'; got dataset {self.dataset!r}"
            )
        if self.md5 and not is_hex(self.md5, 32):
            raise ParamsError(f"{where}: data.md5 must be 32 hex digits or ''; got {self.md5!r}")
        if self.url and not self.url.startswith(("http://", "https://", "file://")):
            raise ParamsError(f"{where}: data.url must start with http://, https:// or file://; got {self.url!r}")
