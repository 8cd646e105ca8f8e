"""Every export format computes what the Keras model computes, measured the way the stage measures it."""

import dataclasses

import numpy as np
import pytest
from test_scoring import numpy_view

from imgclf.export import formats, parity
from imgclf.export.formats import ExportError
from imgclf.export.runners import FILES, format_of, load_runner
from imgclf.models.registry import MODELS
from imgclf.models.spec import BuildContext
from imgclf.runtime import keras_state

SIZE = 16


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A small MobileNet V1 as an end-to-end model of uint8 pictures with the six-view TTA
    (``evaluate.tta: flip_translate``: the model behind Mirror and Shift layers, weighted and added), written in
    every format; and the model without TTA's probabilities on each view."""
    import keras

    from fakes import with_batch_statistics

    out = tmp_path_factory.mktemp("export")
    spec = MODELS["mobilenet_v1"]
    recipe = dataclasses.replace(spec.params(), alpha=0.25, shallow=True)
    with keras_state(0):
        trained = spec.build(recipe, BuildContext((SIZE, SIZE, 3), 4, 0))
    from imgclf.evaluation.scoring import with_views, without_augmentation
    from imgclf.evaluation.tta import views

    inputs = keras.Input((SIZE, SIZE, 3), dtype="uint8")
    plain = keras.Model(inputs, without_augmentation(trained)(keras.ops.cast(inputs, "float32")))  # logits
    averaged = with_views(plain, "flip_translate")  # a superset of the flip and plain graphs: one conversion covers all
    model = keras.Model(inputs, keras.layers.Softmax(name="probabilities")(averaged(inputs)))
    pictures = np.random.default_rng(0).integers(0, 256, (40, SIZE, SIZE, 3), dtype=np.uint8)
    with_batch_statistics(trained, pictures)  # else every picture gets the same probabilities
    formats.write_keras(model, out / FILES["keras"])
    formats.write_saved_model(model, out / FILES["saved_model"])
    formats.write_tflite(out / FILES["saved_model"], out / FILES["tflite"])
    formats.write_tflite_weights(out / FILES["saved_model"], out / FILES["tflite_float16"], "float16")
    formats.write_tflite_weights(out / FILES["saved_model"], out / FILES["tflite_dynamic"], "int8")
    formats.write_tflite_int8(out / FILES["saved_model"], out / FILES["tflite_int8"], pictures[:20])
    formats.write_onnx(out / FILES["saved_model"], out / FILES["onnx"])
    each_view = [(v.weight, plain.predict(numpy_view(pictures, v), verbose=0)) for v in views("flip_translate")]
    return out, pictures, model.predict(pictures, verbose=0), each_view


@pytest.mark.parametrize("name", ["keras", "saved_model", "tflite", "onnx"])
def test_each_float_format_agrees_with_the_keras_model(exported, name):
    out, pictures, reference, *_ = exported
    assert len(set(reference.argmax(1))) > 1  # the pictures get different answers
    runner = load_runner(out / FILES[name])
    assert format_of(out / FILES[name]) == name and runner.image_size == SIZE
    probs = parity.predict_all(runner, pictures, 16, name)
    figures = parity.compare(probs, reference, reference.argmax(1))
    assert figures["agreement"] == 1.0 and figures["max_abs_diff"] < 1e-4
    parity.check(name, figures, 0.999, 1e-4)  # passes


def test_the_exported_model_averages_the_views_evaluate_scores(exported):
    """The softmax of the views' weighted logits (airbench's test), each view made here by numpy."""
    from scipy.special import softmax

    _, _, reference, each_view = exported
    np.testing.assert_allclose(reference, softmax(sum(w * z for w, z in each_view), axis=1), atol=1e-6)
    plain = softmax(each_view[0][1], axis=1)
    assert (reference.argmax(1) != plain.argmax(1)).any()  # the other views change answers
    assert all(np.abs(softmax(z, axis=1) - plain).max() > 1e-3 for _, z in each_view[1:])  # each view differs


def test_the_quantized_models_are_smaller_and_the_ones_that_keep_float_activations_stay_closer(exported):
    out, pictures, reference, *_ = exported
    diffs = {}
    for name in ("tflite_float16", "tflite_dynamic", "tflite_int8"):
        assert format_of(out / FILES[name]) == name
        probs = load_runner(out / FILES[name]).predict(pictures)
        assert probs.shape == reference.shape
        diffs[name] = np.abs(probs - reference).max()
        smaller = 0.6 if name == "tflite_float16" else 0.5  # half the weights' bytes, plus the graph (0.56 here)
        assert (out / FILES[name]).stat().st_size < smaller * (out / FILES["tflite"]).stat().st_size
    # Random pictures, 20 to calibrate int8 (0.09 here); real data: docs/export.md
    assert diffs["tflite_float16"] <= diffs["tflite_dynamic"] <= diffs["tflite_int8"] < 0.15


def test_the_saved_model_signature_takes_uint8_images(exported):
    import tensorflow as tf

    out, pictures, reference, *_ = exported
    signature = tf.saved_model.load(str(out / FILES["saved_model"])).signatures[formats.SIGNATURE]
    (spec,) = signature.structured_input_signature[1].values()
    assert spec.dtype == tf.uint8 and spec.name == formats.INPUT_NAME and spec.shape.as_list() == [None, SIZE, SIZE, 3]
    (probs,) = signature(images=tf.constant(pictures[:3])).values()
    np.testing.assert_allclose(probs.numpy(), reference[:3], atol=1e-5)


def test_latency_is_the_median_and_95th_percentile_of_single_pictures_and_throughput_is_pictures_a_second(
    monkeypatch,
):
    """On a clock that a fake runner moves by known amounts: 1, 2, ..., 20 ms a call after the warm-up one."""

    class Clock:
        now = 0.0

        @classmethod
        def perf_counter(cls):
            return cls.now

    class Runner:
        calls = 0

        def predict(self, batch):
            Runner.calls += 1
            Clock.now += (Runner.calls - 1) / 1000 if Runner.calls > 1 else 5.0  # the warm-up call is slow
            return np.zeros((len(batch), 2))

    monkeypatch.setattr(parity, "time", Clock)
    assert parity.latency_ms(Runner(), np.zeros((4, 4, 3)), repeats=20) == pytest.approx((10.5, 19.0))
    Runner.calls, Clock.now = 100, 0.0  # the warm-up, then four batches of 8 taking 0.101 ... 0.104 s
    assert parity.throughput(Runner(), np.zeros((32, 4, 4, 3)), 8) == pytest.approx(32 / 0.41)


def test_the_formats_sizes_are_measured(exported):
    out, *_ = exported
    assert parity.size_bytes(out / FILES["saved_model"]) > parity.size_bytes(out / FILES["tflite"]) * 0.5


@pytest.mark.parametrize(
    "figures, message",
    [
        ({"agreement": 0.99, "max_abs_diff": 0.0}, r"tflite: top-1 agreement with the Keras model is 99\.0000%, below"),
        ({"agreement": 1.0, "max_abs_diff": 0.01}, r"tflite: largest probability difference .* is 0\.01, above"),
    ],
)
def test_a_float_format_that_disagrees_fails_naming_the_format_and_the_figure(figures, message):
    with pytest.raises(ExportError, match=message):
        parity.check("tflite", figures, 0.999, 1e-4)
    parity.check("tflite_int8", figures, 0.999, 1e-4)  # int8 is reported, not held to float tolerances
