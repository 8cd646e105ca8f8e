"""featurize_shard: frozen-backbone embeddings of one shard of every split, cached as float32 with a manifest."""

from dataclasses import replace

from imgclf.data.arrays import read_split
from imgclf.errors import ParamsError
from imgclf.features.shards import check_shard_count
from imgclf.hardware import run_info
from imgclf.params import load_params
from imgclf.stage import paths, run_stage, stage_output


def main() -> None:
    args = paths(__doc__, "split", "out", numbers=("shard",))
    params = load_params()
    shards = params.features.shards
    if args.shard not in shards:
        raise ParamsError(f"--shard {args.shard} is not in features.shards {shards}; run `dvc repro`, not the script")
    _, labels = read_split(args.split, "train")
    check_shard_count(len(shards), len(labels), params.features.batch_size)  # before Keras starts, for nothing
    from imgclf.runtime import keras_state, start_keras

    start_keras()  # after validation: Keras is slow to import
    from imgclf.features.featurize import featurize
    from imgclf.features.shards import write_shard_record

    with stage_output(args.out, params) as tmp, keras_state(params.seed):
        manifest, timing = featurize(args.split, tmp, params.features, params.seed, (args.shard, len(shards)))
        replace(manifest, run=run_info()).save(tmp)
        write_shard_record(tmp, args.shard, len(shards), timing.pop("first"), timing)
    print(
        f"featurize shard {args.shard}/{len(shards)}: {manifest.count} at {timing['images_per_second']} img/s; "
        f"{manifest.precision} ({manifest.precision_check['reason']})"
    )


if __name__ == "__main__":
    run_stage(main)
