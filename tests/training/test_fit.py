import dataclasses

import pytest

from imgclf.models.mobilenet_v1 import MobileNetV1Params
from imgclf.training.fitted import fitted_warmup


def test_a_warmup_longer_than_the_run_is_cut_to_half_of_it_and_said(capsys):
    recipe = dataclasses.replace(MobileNetV1Params(), epochs=1, warmup_epochs=1.0)
    fitted = fitted_warmup(recipe, "models.mobilenet_v1")
    assert fitted.warmup_epochs == 0.5 and fitted.epochs == 1
    assert capsys.readouterr().err == (
        "warning: models.mobilenet_v1.warmup_epochs (1) does not fit in models.mobilenet_v1.epochs (1): warming "
        "up over 0.5 epoch(s) instead\n"
    )


@pytest.mark.parametrize("warmup", [0.0, 1.0, 4.5])
def test_a_warmup_that_fits_is_left_alone(warmup, capsys):
    recipe = dataclasses.replace(MobileNetV1Params(), epochs=5, warmup_epochs=warmup)
    assert fitted_warmup(recipe, "models.mobilenet_v1") is recipe
    assert capsys.readouterr().err == ""


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")  # the dropped raise, reported
def test_a_ctrl_c_that_python_dropped_still_stops_training(tmp_path):
    """Why the Ctrl-C test once ended 0: a SIGINT that lands while a ``__del__`` runs (TensorFlow's objects have
    many) is printed as "Exception ignored" and dropped, and training went on to the end. The handler remembers
    it, so the next batch raises it."""
    import signal

    import numpy as np

    from imgclf.models.head import HeadParams, build_head
    from imgclf.runtime import interrupts_remembered
    from imgclf.training.batches import Batches
    from imgclf.training.fit import fit_classifier

    class Finalizer:
        def __del__(self):
            signal.raise_signal(signal.SIGINT)  # its KeyboardInterrupt is raised here, and ignored by Python

    previous = signal.getsignal(signal.SIGINT)
    x, labels = np.random.default_rng(0).normal(size=(32, 4)).astype("float32"), np.arange(32) % 2
    head = build_head(4, 2, [8], 0.0, np.zeros(4), np.ones(4), seed=0)
    recipe = dataclasses.replace(HeadParams(), epochs=50, batch_size=8)

    def fit(epochs, out):
        batches = Batches(x, labels, 2, 8, seed=0), Batches(x, labels, 2, 8)
        return fit_classifier(head, dataclasses.replace(recipe, epochs=epochs), False, *batches, out, "h")

    with interrupts_remembered():
        item = Finalizer()
        del item  # "Exception ignored in: <function Finalizer.__del__ ...>": nothing raised here
        with pytest.raises(KeyboardInterrupt):
            fit(50, tmp_path / "a")
    assert signal.getsignal(signal.SIGINT) is previous  # put back, and the flag cleared: later fits run on
    assert fit(1, tmp_path / "b").epochs_run == 1


def test_a_ctrl_c_in_training_is_raised_after_the_batch_not_where_it_lands(tmp_path):
    """Raised in the middle of a TensorFlow step, a KeyboardInterrupt was seen to abort the process (heap
    corruption, no message). In ``fit`` the first SIGINT is only remembered and raised after the batch."""
    import signal

    import keras
    import numpy as np

    from imgclf.models.head import HeadParams, build_head
    from imgclf.runtime import interrupts_remembered
    from imgclf.training.batches import Batches
    from imgclf.training.fit import fit_classifier

    class CtrlCInsideABatch(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.after_the_signal, self.batches_ended = [], 0

        def on_train_batch_begin(self, batch, logs=None):
            if batch == 1:
                signal.raise_signal(signal.SIGINT)
                self.after_the_signal.append(batch)  # reached: the signal did not raise here

        def on_train_batch_end(self, batch, logs=None):
            self.batches_ended += 1

    x, labels = np.random.default_rng(0).normal(size=(32, 4)).astype("float32"), np.arange(32) % 2
    head = build_head(4, 2, [8], 0.0, np.zeros(4), np.ones(4), seed=0)
    recipe = dataclasses.replace(HeadParams(), epochs=50, batch_size=8)
    batches = Batches(x, labels, 2, 8, seed=0), Batches(x, labels, 2, 8)
    probe = CtrlCInsideABatch()
    previous = signal.getsignal(signal.SIGINT)
    with interrupts_remembered(), pytest.raises(KeyboardInterrupt):
        fit_classifier(head, recipe, False, *batches, tmp_path, "h", callbacks=(probe,))
    assert probe.after_the_signal == [1] and probe.batches_ended == 1  # raised by StopOnInterrupt, batch 1's end
    assert signal.getsignal(signal.SIGINT) is previous


def test_a_second_ctrl_c_is_raised_at_once():
    import signal

    from imgclf.runtime import interrupts_deferred, interrupts_remembered

    reached = []
    with interrupts_remembered(), pytest.raises(KeyboardInterrupt), interrupts_deferred():
        signal.raise_signal(signal.SIGINT)
        reached.append("first remembered")
        signal.raise_signal(signal.SIGINT)
        reached.append("second too")
    assert reached == ["first remembered"]


def test_outside_a_stage_a_deferred_ctrl_c_is_raised_once_and_then_forgotten():
    """In a notebook (no ``interrupts_remembered``), the Ctrl-C that stopped one fit must not stop the next."""
    import signal

    from imgclf.runtime import interrupts_deferred, raise_if_interrupted

    with pytest.raises(KeyboardInterrupt), interrupts_deferred():
        signal.raise_signal(signal.SIGINT)
        raise_if_interrupted()  # what StopOnInterrupt does after the batch
    with interrupts_deferred():
        raise_if_interrupted()  # nothing left over
