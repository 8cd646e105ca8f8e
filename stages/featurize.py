"""featurize: frozen-backbone embeddings of every split, cached as float16 with a manifest."""

from dataclasses import replace

from imgclf.hardware import run_info
from imgclf.io import write_json
from imgclf.params import load_params
from imgclf.stage import paths, run_stage, stage_output


def main() -> None:
    args = paths(__doc__, "split", "out", "timing")
    params = load_params()
    from imgclf.features.featurize import POLICIES, featurize, resolve_precision  # after validation: Keras is slow
    from imgclf.runtime import keras_state

    precision = resolve_precision(params.features.precision)
    with stage_output(args.out, params) as tmp, keras_state(params.seed, POLICIES[precision]):
        manifest, timing = featurize(args.split, tmp, params.features, params.seed)
        replace(manifest, run=run_info()).save(tmp)
    write_json(args.timing, timing)  # outside the hashed output: see featurize()
    print(f"featurize: {manifest.count} x {manifest.embedding_dim} at {timing['images_per_second']} img/s")


if __name__ == "__main__":
    run_stage(main)
