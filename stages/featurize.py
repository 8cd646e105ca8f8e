"""featurize: frozen-backbone embeddings of every split, cached as float16 with a manifest."""

from imgclf.cli import paths, run_stage
from imgclf.featurize import featurize
from imgclf.hardware import run_info
from imgclf.io import atomic_dir, write_json
from imgclf.params import load_params


def main() -> None:
    args = paths(__doc__, "split", "out")
    params = load_params()
    with atomic_dir(args.out) as tmp:
        manifest = featurize(args.split, tmp, params.features, params.seed)
        write_json(tmp / "manifest.json", {**manifest, "run": run_info()})
    print(f"featurize: {manifest['count']} x {manifest['embedding_dim']} at {manifest['images_per_second']} img/s")


if __name__ == "__main__":
    run_stage(main)
