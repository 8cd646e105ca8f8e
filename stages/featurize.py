"""featurize: frozen-backbone embeddings of every split, cached as float16 with a manifest."""

from imgclf.cli import paths, run_stage, stage_output
from imgclf.featurize import featurize
from imgclf.hardware import run_info
from imgclf.io import write_json
from imgclf.params import load_params


def main() -> None:
    args = paths(__doc__, "split", "out", "timing")
    params = load_params()
    with stage_output(args.out, params) as tmp:
        manifest, timing = featurize(args.split, tmp, params.features, params.seed)
        write_json(tmp / "manifest.json", {**manifest, "run": run_info()})
    write_json(args.timing, timing)  # outside the hashed output: see featurize()
    print(f"featurize: {manifest['count']} x {manifest['embedding_dim']} at {timing['images_per_second']} img/s")


if __name__ == "__main__":
    run_stage(main)
