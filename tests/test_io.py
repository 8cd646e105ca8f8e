import numpy as np
import pytest

from imgclf.io import atomic_dir, atomic_file, load_array, new_array, read_json, write_json
from imgclf.errors import DataError


def test_atomic_dir_replaces_only_on_success(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.txt").write_text("old")
    with atomic_dir(out) as tmp:
        (tmp / "new.txt").write_text("new")
        assert not (out / "new.txt").exists()  # nothing visible until the block ends
    assert sorted(p.name for p in out.iterdir()) == ["new.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_atomic_dir_leaves_nothing_behind_on_failure(tmp_path):
    out = tmp_path / "out"
    with pytest.raises(RuntimeError):
        with atomic_dir(out) as tmp:
            (tmp / "half.npy").write_bytes(b"12")
            raise RuntimeError("killed half-way")
    assert list(tmp_path.iterdir()) == []


def test_atomic_file_keeps_the_old_file_on_failure(tmp_path):
    path = tmp_path / "eval.json"
    write_json(path, {"top1": 0.5})
    with pytest.raises(KeyboardInterrupt):
        with atomic_file(path) as tmp:
            tmp.write_text("{partial")
            raise KeyboardInterrupt
    assert read_json(path) == {"top1": 0.5}
    assert [p.name for p in tmp_path.iterdir()] == ["eval.json"]


def test_memory_mapped_arrays_round_trip(tmp_path):
    array = new_array(tmp_path / "x.npy", (3, 2), np.uint8)
    array[:] = [[1, 2], [3, 4], [5, 6]]
    array.flush()
    loaded = load_array(tmp_path / "x.npy")
    assert isinstance(loaded, np.memmap)
    assert loaded.tolist() == [[1, 2], [3, 4], [5, 6]]


def test_missing_inputs_name_the_file(tmp_path):
    with pytest.raises(DataError, match=r"missing\.npy: not found; run the stage"):
        load_array(tmp_path / "missing.npy")
    with pytest.raises(DataError, match=r"missing\.json: not found"):
        read_json(tmp_path / "missing.json")
