import numpy as np

from imgclf.models.head import build_head
from imgclf.training.trainers import embedding_stats


def test_head_parameter_count():
    model = build_head(64, 10, [32, 16], 0.2, np.zeros(64), np.ones(64), seed=0)
    # The standardization is fixed from the cache (constants, not weights).
    assert model.count_params() == 64 * 32 + 32 + 32 * 16 + 16 + 16 * 10 + 10


def test_embedding_stats_stream_over_chunks():
    x = np.random.default_rng(0).normal(3.0, 2.0, (1000, 5)).astype(np.float16)
    mean, var = embedding_stats(x, chunk=64)
    np.testing.assert_allclose(mean, x.astype(np.float64).mean(0), rtol=1e-9)
    np.testing.assert_allclose(var, x.astype(np.float64).var(0), rtol=1e-9)
    _, constant = embedding_stats(np.ones((10, 2), np.float16))
    assert constant.tolist() == [1.0, 1.0]  # a constant feature is not divided by zero
