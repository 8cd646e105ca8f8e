import numpy as np

from imgclf.features.views import apply_view, view_plan


def test_view_0_is_the_picture_and_view_1_its_mirror():
    images = np.random.default_rng(0).integers(0, 256, (3, 8, 8, 3), dtype=np.uint8)
    np.testing.assert_array_equal(apply_view(images, *view_plan(3, 0, 8, seed=0)), images)
    np.testing.assert_array_equal(apply_view(images, *view_plan(3, 1, 8, seed=0)), images[:, :, ::-1])


def test_later_views_shift_by_at_most_an_eighth_and_depend_only_on_seed_and_view():
    mirror, shift = view_plan(1000, 2, 32, seed=0)
    assert np.abs(shift).max() == 4 and 0.4 < mirror.mean() < 0.6
    again = view_plan(1000, 2, 32, seed=0)
    np.testing.assert_array_equal(shift, again[1])
    assert not np.array_equal(shift, view_plan(1000, 3, 32, seed=0)[1])
    assert not np.array_equal(shift, view_plan(1000, 2, 32, seed=1)[1])


def test_a_shift_moves_the_picture_and_reflects_the_border():
    image = np.arange(16, dtype=np.uint8).reshape(1, 4, 4, 1).repeat(3, axis=-1)
    out = apply_view(image, np.array([False]), np.array([[0, 1]]))  # content moves left by one column
    np.testing.assert_array_equal(out[0, :, :3, 0], image[0, :, 1:, 0])
    np.testing.assert_array_equal(out[0, :, 3, 0], image[0, :, 2, 0])  # reflected, not zero
