"""featurize: the shards' embeddings joined into one cache, identical to an unsharded run (no Keras here)."""

from imgclf.features.shards import join_shards, shard_folders
from imgclf.io import write_json
from imgclf.params import load_params
from imgclf.stage import paths, run_stage, stage_output


def main() -> None:
    args = paths(__doc__, "shards", "out", "timing")
    params = load_params()
    with stage_output(args.out, params) as tmp:
        manifest, timing = join_shards(shard_folders(args.shards, params.features.shards), tmp)
        manifest.save(tmp)
    write_json(args.timing, timing)  # outside the hashed output, so equal embeddings rerun nothing downstream
    print(f"featurize: {manifest.count} x {manifest.embedding_dim} from {timing['shards']} shard(s)")


if __name__ == "__main__":
    run_stage(main)
