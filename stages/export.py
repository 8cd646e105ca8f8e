"""export: the end-to-end model (uint8 pictures in, probabilities out) in every asked format, with measured parity."""

from pathlib import Path

from imgclf.io import write_json
from imgclf.params import load_params
from imgclf.stage import paths, run_stage, stage_output


def main() -> None:
    args = paths(__doc__, "train", "features", "split", "out", "metrics")
    params = load_params()
    from imgclf.runtime import keras_state, start_keras

    start_keras()  # after validation: Keras is slow to import
    from imgclf.export.bundle import export_model, export_summary

    inputs = (Path(args.train), Path(args.features), Path(args.split))
    with stage_output(args.out, params) as tmp, keras_state(params.seed):
        metrics = export_model(*inputs, tmp, params.export, params.evaluate.tta, params.data.resize, params.seed)
    write_json(args.metrics, metrics)  # timings included: outside the hashed output, nothing depends on it
    print(export_summary(metrics))


if __name__ == "__main__":
    run_stage(main)
