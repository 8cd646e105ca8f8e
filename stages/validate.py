"""validate: params.yaml checked whole on every `dvc repro`, and a fingerprint of the data source.

Runs on every repro (always_changed in dvc.yaml) and takes well under a second:
a mistyped key anywhere in params.yaml fails here even when no stage reads it,
and fetch reruns when the files behind data.path change.
"""

from imgclf.data.fingerprint import source_fingerprint
from imgclf.io import write_json
from imgclf.params import load_params
from imgclf.stage import paths, run_stage


def main() -> None:
    args = paths(__doc__, "out")
    params = load_params()
    write_json(args.out, source_fingerprint(params.data))


if __name__ == "__main__":
    run_stage(main)
