"""Two machines share one featurize run through a DVC remote (docs/distribution.md): two clones of one commit,
a folder as the remote, each clone featurizing one shard and pushing it with its run cache; the clone that
trains pulls the other's shard instead of computing it."""

import json

import pytest

from projects import SMALL_BACKBONE, clone, ran, run

pytestmark = pytest.mark.slow


def test_two_clones_featurize_a_shard_each_and_one_joins_both_through_a_folder_remote(tmp_path):
    first = clone(
        tmp_path / "first",
        {"limit_per_class": 12, "test_limit_per_class": 3, "val_fraction": 0.25},
        features={**SMALL_BACKBONE, "shards": [0, 1]},
    )
    run(first, "dvc", "remote", "add", "-d", "shared", str(tmp_path / "remote"))
    run(first, "git", "commit", "-qam", "a DVC remote both machines reach")
    run(tmp_path, "git", "clone", "-q", str(first), "second")
    second = tmp_path / "second"
    for root, shard in ((first, 0), (second, 1)):  # on two machines these run at the same time
        run(root, "dvc", "repro", f"featurize_shard@{shard}")
        run(root, "dvc", "push", "--run-cache")
    joined = run(first, "dvc", "repro", "--pull", "featurize")  # what the remote's run cache has, it pulls
    assert "featurize_shard@1" not in ran(joined)  # the second machine's shard, from the remote
    assert "Stage 'featurize_shard@1' is cached - skipping run, checking out outputs" in joined.stdout
    assert "featurize" in ran(joined)
    assert json.loads((first / "metrics" / "featurize.json").read_text())["shards"] == 2
    assert (first / "data" / "features" / "train.npy").exists()
