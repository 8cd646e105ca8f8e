"""The real-data model matrix, models of embeddings (tests/matrix.py); the other half is in
test_model_matrix_images.py, so the suite's two workers share it."""

import pytest

from matrix import EMBEDDING_CASES, check_model, matrix_project, skip_without_data

pytestmark = [pytest.mark.slow, skip_without_data]


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    return matrix_project(tmp_path_factory)


@pytest.mark.parametrize("model, precision", EMBEDDING_CASES, ids=[f"{m}-{p}" for m, p in EMBEDDING_CASES])
def test_evaluate_export_and_predict_score_the_same_model(project, model, precision):
    check_model(*project, model, precision)


def test_with_flip_tta_predict_gives_what_evaluate_scored(project):
    """evaluate.tta: flip goes into the exported model, the backbone run on the mirror as featurize did for
    test_flip.npy (train is DVC-cached from the case above). A one-epoch model of pictures answers nearly every
    picture and its mirror alike, so the head is the model that tells here (tests/export covers both kinds)."""
    check_model(*project, "head", "float32", "flip")
