"""The real-data model matrix, models of embeddings (tests/matrix.py); the other half is in
test_model_matrix_images.py, so the suite's two workers share it."""

import pytest

from matrix import EMBEDDING_CASES, check_model, matrix_project, skip_without_data

pytestmark = [pytest.mark.slow, skip_without_data]


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    return matrix_project(tmp_path_factory)


@pytest.mark.parametrize("model, precision, tta", EMBEDDING_CASES, ids=["-".join(case) for case in EMBEDDING_CASES])
def test_evaluate_export_and_predict_score_the_same_model(project, model, precision, tta):
    check_model(*project, model, precision, tta)
