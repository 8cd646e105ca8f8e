import numpy as np
import pytest

from imgclf.evaluation.calibration import expected_calibration_error, reliability_table


def test_ece_against_a_hand_computed_value():
    # Four pictures, two classes. Confidences 0.95, 0.95 (one right, one wrong) fall in bin (0.933, 1.0];
    # 0.6 (right) in (0.6- , 0.6]; 0.55 (wrong) in (0.533, 0.6]: the two 0.6-ish ones share a bin.
    probs = np.array([[0.95, 0.05], [0.95, 0.05], [0.6, 0.4], [0.45, 0.55]])
    labels = np.array([0, 1, 0, 0])
    table = reliability_table(probs, labels, bins=15)
    assert table["images"].tolist() == [2, 2]
    # bin of 0.55 and 0.6: confidence 0.575, accuracy 0.5; bin of 0.95: confidence 0.95, accuracy 0.5
    expected = (2 * abs(0.5 - 0.575) + 2 * abs(0.5 - 0.95)) / 4
    assert expected_calibration_error(probs, labels, bins=15) == pytest.approx(expected)


def test_a_perfectly_calibrated_model_has_no_calibration_error():
    """Predicting class 0 with confidence c, right on exactly a share c of its pictures, in every bin."""
    probs, labels = [], []
    for c in (0.6, 0.8, 1.0):
        right = round(c * 100)
        probs += [[c, 1 - c]] * 100
        labels += [0] * right + [1] * (100 - right)
    assert expected_calibration_error(np.array(probs), np.array(labels)) == pytest.approx(0.0, abs=1e-12)
