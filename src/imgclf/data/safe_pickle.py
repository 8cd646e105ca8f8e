"""Load the CIFAR "python version" pickles without letting them run code.

A pickle can name any importable callable and have it called on load. The
CIFAR batches need only dicts, lists, bytes, str, numbers and numpy arrays, so
the unpickler resolves exactly the globals numpy uses to rebuild an array (plus
the latin1 text-to-bytes codec that protocol-2 pickles use for bytes) and
refuses everything else, object arrays included.
"""

from __future__ import annotations

import io
import pickle
from typing import Any, BinaryIO

import numpy as np

from ..errors import DataError


def _plain_dtype(*args: Any) -> np.dtype:
    dtype = np.dtype(*args)
    if dtype.hasobject:
        raise pickle.UnpicklingError("object arrays are not allowed")
    return dtype


def _ndarray_reconstruct(subtype: Any, shape: Any, dtype: Any) -> np.ndarray:
    if subtype is not np.ndarray:
        raise pickle.UnpicklingError("only plain numpy arrays are allowed")
    return np.ndarray.__new__(np.ndarray, shape, _plain_dtype(dtype))


def _latin1_bytes(text: str, encoding: str = "latin1") -> bytes:
    # Protocol-2 pickles written by Python 3 spell every bytes object this way.
    if encoding not in ("latin1", "latin-1") or not isinstance(text, str):
        raise pickle.UnpicklingError("only latin1 text-to-bytes encoding is allowed")
    return text.encode("latin1")


_ALLOWED = {
    ("_codecs", "encode"): _latin1_bytes,
    ("numpy.core.multiarray", "_reconstruct"): _ndarray_reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _ndarray_reconstruct,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): _plain_dtype,
}


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"forbidden global {module}.{name}") from None


def load_plain_pickle(fh: BinaryIO | bytes, source: str) -> Any:
    """Unpickle containers, strings, numbers and numpy arrays only; ``source`` names the file in errors."""
    stream = io.BytesIO(fh) if isinstance(fh, bytes) else fh
    try:
        return _RestrictedUnpickler(stream, encoding="bytes").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError) as exc:
        raise DataError(f"{source}: refused to load: {exc}") from None
