"""The benchmark suite's FLOP accounting, checked against the papers' figures."""

import keras
import pytest

from benchmarks.harness import model_macs


@pytest.mark.parametrize(
    "build, paper_macs",
    [
        # He et al. 2016, Table 1: ResNet-50, 3.8e9 "FLOPs" (multiply-adds) at 224x224
        (lambda: keras.applications.ResNet50(weights=None, include_top=True), 3.8e9),
        # Howard et al. 2017, Table 8: 1.0 MobileNet-224, 569 million mult-adds
        (lambda: keras.applications.MobileNet(weights=None, include_top=True), 569e6),
    ],
    ids=["resnet50", "mobilenet_v1"],
)
def test_model_macs_match_the_papers(build, paper_macs):
    assert model_macs(build()) == pytest.approx(paper_macs, rel=0.02)


def test_model_macs_count_grouped_and_depthwise_kernels_once_per_output_position():
    inputs = keras.Input((8, 8, 16))
    x = keras.layers.Conv2D(32, 3, padding="same", groups=4)(inputs)  # 64 positions x 3*3*4*32
    x = keras.layers.DepthwiseConv2D(3, strides=2, padding="same")(x)  # 16 positions x 3*3*32*1
    outputs = keras.layers.Dense(10)(keras.layers.GlobalAveragePooling2D()(x))  # 32*10
    assert model_macs(keras.Model(inputs, outputs)) == 64 * 3 * 3 * 4 * 32 + 16 * 3 * 3 * 32 + 32 * 10


def test_a_rate_above_a_measured_peak_is_capped_at_one_and_said():
    from benchmarks.harness import fractions_of_peak

    got = fractions_of_peak(3.0e11, {"gemm": 2.4e11, "theoretical": 3.3e11, "unknown": None})
    assert got == {"fraction_of_gemm_peak": 1.0, "gemm_peak_exceeded_by": 1.25, "fraction_of_theoretical_peak": 0.9091}


def test_the_memory_section_runs_the_stages_as_dvc_yaml_writes_them():
    """It once ran featurize.py with the arguments of the stage before the shard split, and failed."""
    import subprocess
    import sys

    from benchmarks.memory import STAGES, stage_command

    for name in STAGES:
        script, *args = stage_command(name)
        usage = subprocess.run([sys.executable, script, "--help"], capture_output=True, text=True, check=True).stdout
        assert all(arg in usage for arg in args if arg.startswith("--")), (name, args)
    assert stage_command("featurize_shard")[1:3] == ["--shard", "0"]
