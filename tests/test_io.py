import numpy as np
import pytest

from imgclf.errors import DataError
from imgclf.io import atomic_dir, atomic_file, load_array, new_array, read_json, write_json


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
    with pytest.raises(RuntimeError), atomic_dir(out) as tmp:
        (tmp / "half.npy").write_bytes(b"12")
        raise RuntimeError("killed half-way")
    assert list(tmp_path.iterdir()) == []


def test_atomic_file_keeps_the_old_file_on_failure(tmp_path):
    path = tmp_path / "eval.json"
    write_json(path, {"top1": 0.5})
    with pytest.raises(KeyboardInterrupt), atomic_file(path) as tmp:
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


def test_leftovers_of_a_killed_writer_are_removed_by_the_next_write(tmp_path):
    import subprocess
    import sys

    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(gone.stdout)  # a process that has exited
    stale = tmp_path / f".features.tmp-{dead_pid}-abc"
    stale.mkdir()
    (stale / "train.npy").write_bytes(b"0" * 1000)
    old_style = tmp_path / ".features.tmp-k2j3h4"  # written before temporaries carried a pid
    old_style.mkdir()
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"]) as busy:
        running = tmp_path / f".features.tmp-{busy.pid}-xyz"  # another run still writing
        running.mkdir()
        with atomic_dir(tmp_path / "features") as tmp:
            (tmp / "manifest.json").write_text("{}")
        busy.kill()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["features", running.name])


def test_keras_archives_of_the_same_model_are_byte_identical(tmp_path):
    import keras

    from imgclf.io import normalize_keras_archive

    def build():
        keras.backend.clear_session()  # the same layer names, as in a fresh process
        keras.utils.set_random_seed(0)
        inputs = keras.Input((4,))
        x = keras.layers.Dropout(0.5, seed=1)(inputs)  # seeded layers share a generator: an id in the config
        return keras.Model(inputs, keras.layers.Dense(2)(x))

    files = []
    for name in ("a", "b"):
        model = build()
        path = tmp_path / f"{name}.keras"
        model.save(path)
        normalize_keras_archive(path)
        files.append(path)
    assert files[0].read_bytes() == files[1].read_bytes()
    loaded = keras.models.load_model(files[0])
    x = np.ones((1, 4), "float32")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_outputs_get_the_mode_the_umask_gives_not_owner_only(tmp_path):
    """A teammate or a serving container running as another user must be able to read an export."""
    import os

    old = os.umask(0o022)
    try:
        with atomic_dir(tmp_path / "export") as folder:
            write_json(folder / "preprocessing.json", {"a": 1})
    finally:
        os.umask(old)
    assert (tmp_path / "export").stat().st_mode & 0o777 == 0o755
    assert (tmp_path / "export" / "preprocessing.json").stat().st_mode & 0o777 == 0o644


def test_an_output_that_cannot_be_written_is_named_before_any_work(tmp_path):
    from imgclf.io import check_writable

    (tmp_path / "README.md").write_text("a file")
    with pytest.raises(
        DataError, match=r"README\.md/x\.csv: cannot write there \(.*README\.md is a file, not a folder\)"
    ):
        check_writable(tmp_path / "README.md" / "x.csv")
    with pytest.raises(DataError, match=r"is a file; name a folder"):
        check_writable(tmp_path / "README.md", folder=True)
    check_writable(tmp_path / "new" / "x.csv")  # a missing folder is made
    assert (tmp_path / "new").is_dir() and list((tmp_path / "new").iterdir()) == []


def test_long_lists_in_messages_are_cut_the_same_way_everywhere():
    from imgclf.errors import listed

    assert listed(["a", "b"]) == "a, b"
    assert listed(range(12)) == "0, 1, 2, 3, 4, 5, 6, 7, 8, 9 and 2 more"
    assert listed("abcdefg", 5) == "a, b, c, d, e and 2 more"
