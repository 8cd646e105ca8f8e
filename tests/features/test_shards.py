"""Sharded featurize: whole-batch boundaries, a join that is byte-identical to one run, and refusals."""

import dataclasses
import itertools
import shutil

import numpy as np
import pytest

from imgclf.data.arrays import write_classes, write_subset
from imgclf.errors import DataError
from imgclf.features.featurize import featurize
from imgclf.features.manifest import FeatureManifest
from imgclf.features.shards import join_shards, shard_rows, write_shard_record
from imgclf.params import FeaturesParams
from imgclf.runtime import keras_state

PARAMS = dataclasses.replace(FeaturesParams(), backbone="mobilenet", alpha=0.25, batch_size=3, views=3)


@pytest.mark.parametrize("count, batch, shards", [(10, 3, 2), (10, 3, 3), (10, 3, 4), (7, 8, 2), (64, 64, 1)])
def test_shards_cover_every_row_once_in_whole_batches(count, batch, shards):
    rows = [shard_rows(count, batch, shards, i) for i in range(shards)]
    assert rows[0][0] == 0 and rows[-1][1] == count
    assert all(a[1] == b[0] for a, b in itertools.pairwise(rows))  # contiguous, in order
    assert all(start % batch == 0 for start, _ in rows)  # each batch is the one the unsharded run makes
    sizes = [stop - start for start, stop in rows]
    assert max(sizes) - min(sizes) <= batch  # spread evenly, to within a batch


@pytest.fixture(scope="module")
def split_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("shards")
    rng = np.random.default_rng(0)
    for name, n in (("train", 10), ("val", 4), ("test", 7)):
        write_subset(root / "split", name, rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8), np.arange(n) % 2)
    write_classes(root / "split", ["a", "b"])
    return root / "split"


def shard(split_dir, out, index, shards):
    with keras_state(0):
        manifest, timing = featurize(split_dir, out, PARAMS, seed=0, shard=(index, shards))
    manifest.save(out)
    write_shard_record(out, index, shards, timing.pop("first"), timing)
    return out


@pytest.fixture(scope="module")
def whole(split_dir):
    out = split_dir.parent / "whole"
    with keras_state(0):
        manifest, _ = featurize(split_dir, out, PARAMS, seed=0)
    manifest.save(out)
    return out


@pytest.fixture(scope="module")
def three(split_dir):
    """Three shards of uneven size: 10 training pictures in batches of 3 make 4 batches, split 1-1-2."""
    return [shard(split_dir, split_dir.parent / f"shard{i}", i, 3) for i in range(3)]


def test_joined_shards_are_byte_identical_to_one_run(whole, three, tmp_path):
    manifest, timing = join_shards(three, tmp_path / "joined")
    manifest.save(tmp_path / "joined")
    names = sorted(p.name for p in whole.iterdir())
    assert names == ["manifest.json", "test.npy", "test_flip.npy", "train.npy", "train_views.npy", "val.npy"]
    assert sorted(p.name for p in (tmp_path / "joined").iterdir()) == names
    for name in names:
        assert (tmp_path / "joined" / name).read_bytes() == (whole / name).read_bytes(), name
    assert timing["shards"] == 3 and timing["images"] == 10 * 3 + 4 + 7 * 2
    assert [FeatureManifest.load(f).count["train"] for f in three] == [3, 3, 4]


def test_more_shards_than_batches_are_refused_with_the_numbers(split_dir, tmp_path):
    """10 pictures in batches of 3 are 4 batches: a fifth shard would have nothing to embed."""
    with pytest.raises(DataError, match=r"5 shards for 4 batch\(es\) of features\.batch_size 3 \(10 training"):
        shard(split_dir, tmp_path / "0", 0, 5)


def test_a_shard_from_another_layout_or_recipe_is_refused_by_name(three, tmp_path):
    with pytest.raises(DataError, match=r"shard0: holds shard 0 of 3, expected shard 1 of 3"):
        join_shards([three[0], three[0], three[2]], tmp_path / "joined")
    other = tmp_path / "other"
    shutil.copytree(three[1], other)
    dataclasses.replace(FeatureManifest.load(other), image_size=64).save(other)
    with pytest.raises(DataError, match=r"other: made with other features params than shard 0"):
        join_shards([three[0], other, three[2]], tmp_path / "joined")


def test_the_shard_stage_refuses_too_many_shards_before_starting_tensorflow(split_dir, tmp_path):
    import json
    import subprocess
    import sys

    from fakes import REPO, write_params

    write_params(tmp_path, {"features": {"shards": list(range(5)), "batch_size": 3}})
    probe = (
        "import json, runpy, sys\n"
        "sys.argv = sys.argv[1:]\n"
        "try:\n    runpy.run_path(sys.argv[0], run_name='__main__')\n"
        "except SystemExit as exit:\n    code = exit.code\n"
        "print(json.dumps([code, 'keras' in sys.modules or 'tensorflow' in sys.modules]))"
    )
    stage = str(REPO / "stages" / "featurize_shard.py")
    args = [stage, "--shard", "4", "--split", str(split_dir), "--out", str(tmp_path / "4")]
    done = subprocess.run([sys.executable, "-c", probe, *args], cwd=tmp_path, capture_output=True, text=True)
    assert json.loads(done.stdout.strip().splitlines()[-1]) == [1, False]
    assert "error: features.shards: 5 shards for 4 batch(es) of features.batch_size 3" in done.stderr
