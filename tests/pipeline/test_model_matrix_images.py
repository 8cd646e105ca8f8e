"""The real-data model matrix, models of pictures (tests/matrix.py)."""

import pytest

from imgclf.models.registry import MODELS
from matrix import EMBEDDING_CASES, IMAGE_MODELS, check_model, matrix_project, skip_without_data

pytestmark = [pytest.mark.slow, skip_without_data]


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    return matrix_project(tmp_path_factory)


@pytest.mark.parametrize("model", IMAGE_MODELS)
def test_evaluate_export_and_predict_score_the_same_model(project, model):
    check_model(*project, model, "float32")


def test_every_registered_model_is_in_the_matrix():
    assert {m for m, _ in EMBEDDING_CASES} | set(IMAGE_MODELS) == set(MODELS)
