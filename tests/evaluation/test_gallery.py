import numpy as np
import pytest

from imgclf.evaluation.gallery import confident_mistakes, draw_gallery, upscaled


def test_the_gallery_picks_the_most_confident_mistakes_first():
    logits = np.array([[5.0, 0.0], [0.0, 1.0], [0.0, 9.0], [3.0, 0.0], [0.0, 2.0]])
    probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    labels = np.array([0, 0, 0, 1, 1])  # wrong: 1 (p=.73), 2 (p=.9999), 3 (p=.95); right: 0, 4
    assert confident_mistakes(probs, labels, 32).tolist() == [2, 3, 1]
    assert confident_mistakes(probs, labels, 2).tolist() == [2, 3]


def test_fewer_mistakes_than_asked_draws_what_there_is(tmp_path):
    images = np.random.default_rng(0).integers(0, 256, (3, 32, 32, 3), dtype=np.uint8)
    probs = np.array([[0.9, 0.1], [0.2, 0.8], [0.7, 0.3]])
    labels = np.array([0, 0, 0])
    shown = draw_gallery(tmp_path / "g.png", images, probs, labels, ["cat", "dog"], 32, ["a.jpg", "b.jpg", "c.jpg"])
    assert shown == 1 and (tmp_path / "g.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert draw_gallery(tmp_path / "none.png", images, probs, np.array([0, 1, 0]), ["cat", "dog"], 32) == 0


def test_small_pictures_are_enlarged_pixel_for_pixel():
    image = np.arange(12, dtype=np.uint8).reshape(2, 2, 3)
    big = upscaled(image, side=8)
    assert big.shape == (8, 8, 3) and (big[:4, :4] == image[0, 0]).all()


@pytest.mark.parametrize("wrong", [0, 1, 20])
def test_every_title_and_note_fits_inside_the_picture(wrong):
    """A gallery of no mistakes used to be 210 px wide and cut its own title and note."""
    import matplotlib.pyplot as plt

    from imgclf.evaluation.gallery import gallery_figure

    n = 24
    images = np.zeros((n, 32, 32, 3), np.uint8)
    probs = np.tile([[0.9, 0.1]], (n, 1))
    labels = np.array([1] * wrong + [0] * (n - wrong))
    fig, shown = gallery_figure(images, probs, labels, ["automobile", "truck"], 32, [f"{i:04d}.jpg" for i in range(n)])
    renderer = fig.canvas.get_renderer()
    frame = fig.bbox
    ticks = {id(t) for ax in fig.axes for axis in (ax.xaxis, ax.yaxis) for t in axis.get_ticklabels(which="both")}
    texts = [t for t in fig.findobj(plt.Text) if t.get_text() and id(t) not in ticks]  # axes are off: no ticks
    assert shown == wrong and texts
    for text in texts:
        box = text.get_window_extent(renderer)
        assert frame.x0 <= box.x0 and box.x1 <= frame.x1 and frame.y0 <= box.y0 and box.y1 <= frame.y1, text.get_text()
    plt.close(fig)
