import pickle

import numpy as np
import pytest

from fakes import RunsCode
from imgclf.data.safe_pickle import load_plain_pickle
from imgclf.errors import DataError


def test_plain_containers_and_arrays_load():
    obj = {b"data": np.arange(12, dtype=np.uint8).reshape(3, 4), b"labels": [1, 2, 3], "name": "x", "f": 1.5}
    loaded = load_plain_pickle(pickle.dumps(obj, protocol=2), "batch")
    assert loaded[b"labels"] == [1, 2, 3] and loaded["f"] == 1.5
    np.testing.assert_array_equal(loaded[b"data"], obj[b"data"])


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_code_execution_is_refused(tmp_path, protocol):
    marker = tmp_path / "pwned"
    payload = pickle.dumps({b"data": RunsCode(f"touch {marker}")}, protocol=protocol)
    with pytest.raises(DataError, match=r"evil: refused to load: forbidden global (posix|os)\.system"):
        load_plain_pickle(payload, "evil")
    assert not marker.exists()


def test_object_arrays_are_refused():
    payload = pickle.dumps(np.array([{"a": 1}], dtype=object), protocol=2)
    with pytest.raises(DataError, match="object arrays are not allowed"):
        load_plain_pickle(payload, "objects")


def test_truncated_pickle_is_a_data_error():
    with pytest.raises(DataError, match="cut: refused to load"):
        load_plain_pickle(pickle.dumps([1, 2, 3])[:-3], "cut")
