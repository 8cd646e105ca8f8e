import dataclasses

import pytest

from imgclf.models.mobilenet_v1 import MobileNetV1Params
from imgclf.training.fit import fitted_warmup, jit_setting


def test_a_warmup_longer_than_the_run_is_cut_to_half_of_it_and_said(capsys):
    recipe = dataclasses.replace(MobileNetV1Params(), epochs=1, warmup_epochs=1.0)
    fitted = fitted_warmup(recipe, "models.mobilenet_v1")
    assert fitted.warmup_epochs == 0.5 and fitted.epochs == 1
    assert capsys.readouterr().out == (
        "models.mobilenet_v1.warmup_epochs (1) does not fit in 1 epoch(s): warming up over 0.5 epoch(s) instead\n"
    )


@pytest.mark.parametrize("warmup", [0.0, 1.0, 4.5])
def test_a_warmup_that_fits_is_left_alone(warmup, capsys):
    recipe = dataclasses.replace(MobileNetV1Params(), epochs=5, warmup_epochs=warmup)
    assert fitted_warmup(recipe, "models.mobilenet_v1") is recipe
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize("value, keras_value", [("auto", "auto"), (True, True), (False, False)])
def test_jit_compile_takes_yaml_booleans(value, keras_value):
    assert jit_setting(value) == keras_value
