"""The training callbacks: hook order, early stopping, learning-rate schedules, gradient clipping, errors."""

from __future__ import annotations

import numpy as np
import pytest

import nn
from nn.architectures import mlp
from nn.errors import ConfigError
from nn.losses import CrossEntropy
from nn.optim import SGD, Adam, cosine_schedule
from nn.train import (
    Callback,
    EarlyStopping,
    GradientClipping,
    LambdaCallback,
    LearningRateSchedule,
    ProgressLogger,
    fit,
)

DATA_RNG = np.random.default_rng(3)
X = DATA_RNG.normal(size=(30, 4))
Y = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0.5).astype(int)


def _model():
    return mlp([4, 6, 3], "quadratic", rng=0)


def _weights(model):
    return [v.copy() for _, v, _ in model.parameters()]


class Recorder(Callback):
    """Writes every hook call into ``events``."""

    def __init__(self, stop_after=None):
        self.events = []
        self.stop_after = stop_after

    def on_train_begin(self):
        self.events.append("train_begin")

    def on_epoch_begin(self, epoch):
        self.events.append(f"epoch_begin {epoch}")

    def on_before_optimizer_step(self, batch):
        self.events.append(f"step {batch}")

    def on_epoch_end(self, epoch, logs):
        assert self.history.epochs[-1] is logs  # recorded before the hook runs
        self.events.append(f"epoch_end {epoch}")
        return epoch == self.stop_after

    def on_train_end(self):
        self.events.append("train_end")


def test_custom_callback_hooks_are_called_in_order_with_context():
    model = _model()
    optimizer = SGD(model.parameters(), lr=0.01)
    rec = Recorder()
    history = fit(model, X[:10], Y[:10], epochs=2, batch_size=4, optimizer=optimizer, callbacks=[rec], verbose=False)
    epoch = ["step 0", "step 1", "step 2"]  # 10 samples in batches of 4
    assert rec.events == [
        "train_begin",
        "epoch_begin 0",
        *epoch,
        "epoch_end 0",
        "epoch_begin 1",
        *epoch,
        "epoch_end 1",
        "train_end",
    ]
    assert rec.model is model and rec.optimizer is optimizer and rec.history is history
    assert rec.params == {"epochs": 2, "batch_size": 4, "samples": 10, "metrics": ["loss", "accuracy"]}
    assert not history.stopped_early and history.best_epoch is None


def test_callbacks_run_in_list_order_and_a_true_return_stops_training():
    calls = []
    first = LambdaCallback(on_epoch_begin=lambda e: calls.append(("first", e)))
    second = LambdaCallback(on_epoch_begin=lambda e: calls.append(("second", e)))
    stopper = Recorder(stop_after=1)
    history = fit(_model(), X, Y, epochs=5, callbacks=[first, second, stopper], verbose=False)
    assert calls == [("first", 0), ("second", 0), ("first", 1), ("second", 1)]
    assert len(history.epochs) == 2 and history.stopped_early
    assert stopper.events[-2:] == ["epoch_end 1", "train_end"]


def test_verbose_adds_one_progress_logger(capsys):
    fit(_model(), X, Y, epochs=2, verbose=True)
    printed = capsys.readouterr().out.splitlines()
    assert [line.split()[1] for line in printed] == ["1/2", "2/2"]
    lines = []
    fit(_model(), X, Y, epochs=2, verbose=True, callbacks=[ProgressLogger(lines.append)])
    assert capsys.readouterr().out == "" and len(lines) == 2 and lines[0].startswith("epoch 1/2  loss ")


class Script(Callback):
    """Replaces the monitored metric by scripted values and snapshots the weights after each epoch."""

    def __init__(self, key, values):
        self.key, self.values, self.snapshots = key, values, []

    def on_epoch_end(self, epoch, logs):
        logs[self.key] = self.values[epoch]
        self.snapshots.append(_weights(self.model))


@pytest.mark.parametrize(
    "monitor, values",
    [
        ("val_loss", [1.0, 0.5, 0.7, 0.4, 0.6, 0.8, 0.3, 0.2]),
        ("val_accuracy", [0.1, 0.5, 0.3, 0.6, 0.55, 0.4, 0.9, 0.95]),
    ],
)
def test_early_stopping_stops_after_patience_and_restores_the_best_weights(monitor, values):
    model = _model()
    script = Script(monitor, values)
    lines = []
    stop = EarlyStopping(monitor, patience=2, log=lines.append)
    history = fit(model, X, Y, epochs=8, validation=(X, Y), callbacks=[script, stop], verbose=False)
    # best at epoch 4 (0.4 / 0.6); epochs 5 and 6 do not improve: stop after epoch 6
    assert len(history.epochs) == 6 and history.stopped_early and history.best_epoch == 4
    assert lines == [f"early stopping: no improvement of {monitor} for 2 epochs"]
    for restored, best, last in zip(_weights(model), script.snapshots[3], script.snapshots[5], strict=True):
        np.testing.assert_array_equal(restored, best)
        assert not np.array_equal(restored, last)


def test_early_stopping_min_delta_patience_zero_and_no_restore():
    model = _model()
    script = Script("loss", [1.0, 0.95, 0.5, 0.49])
    stop = EarlyStopping("loss", patience=0, min_delta=0.1, restore_best_weights=False)
    history = fit(model, X, Y, epochs=4, callbacks=[script, stop], verbose=False)
    # 0.95 is not better than 1.0 by more than 0.1: patience 0 stops at once
    assert len(history.epochs) == 2 and history.best_epoch == 1 and history.stopped_early
    for current, last in zip(_weights(model), script.snapshots[-1], strict=True):
        np.testing.assert_array_equal(current, last)  # the last weights are kept


def test_early_stopping_runs_to_the_end_when_it_keeps_improving():
    script = Script("val_loss", [5.0, 4.0, 3.0])
    history = fit(
        _model(), X, Y, epochs=3, validation=(X, Y), callbacks=[script, EarlyStopping(patience=1)], verbose=False
    )
    assert len(history.epochs) == 3 and history.best_epoch == 3 and not history.stopped_early


def test_learning_rate_schedule_sets_the_rate_of_every_epoch():
    model = _model()
    optimizer = SGD(model.parameters(), lr=0.1)
    used = []
    record = LambdaCallback(on_before_optimizer_step=lambda b: used.append(optimizer.lr) if b == 0 else None)
    step = LearningRateSchedule(step_size=2, gamma=0.5)
    fit(model, X, Y, epochs=5, optimizer=optimizer, callbacks=[step, record], verbose=False)
    assert used == [0.1, 0.1, 0.05, 0.05, 0.025]

    optimizer = Adam(model.parameters(), lr=1.0)
    used.clear()
    schedule = cosine_schedule(0.02, 4)
    fit(model, X, Y, epochs=4, optimizer=optimizer, callbacks=[LearningRateSchedule(schedule), record], verbose=False)
    assert used == pytest.approx([schedule(e) for e in range(4)]) and len(set(used)) == 4


def test_gradient_clipping_bounds_the_global_norm_and_keeps_the_direction():
    model = _model()
    seen = []  # per mini-batch: [gradients before clipping, gradients after]
    before = LambdaCallback(on_before_optimizer_step=lambda b: seen.append([_gradients(model)]))
    after = LambdaCallback(on_before_optimizer_step=lambda b: seen[-1].append(_gradients(model)))
    clip = GradientClipping(0.05)
    optimizer = SGD(model.parameters(), lr=0.05)
    fit(model, X, Y, epochs=3, batch_size=8, optimizer=optimizer, callbacks=[before, clip, after], verbose=False)
    norms = [_norm(g0) for g0, _ in seen]
    assert len(seen) == 12 and max(norms) > 0.05  # clipping had work to do
    for (g0, g1), n0 in zip(seen, norms, strict=True):
        assert _norm(g1) <= 0.05 * (1 + 1e-12)
        for a, b in zip(g0, g1, strict=True):  # one common factor: the direction is kept
            np.testing.assert_array_equal(b, a * (0.05 / n0) if n0 > 0.05 else a)
    assert clip.last_norm == norms[-1]


def _gradients(model):
    return [g.copy() for _, _, g in model.parameters()]


def _norm(grads):
    return float(np.sqrt(sum(float(np.sum(g * g)) for g in grads)))


def test_callbacks_reproduce_the_plain_loop_bit_for_bit():
    """fit + GradientClipping + LearningRateSchedule equals the loop written out by hand."""
    schedule = cosine_schedule(0.05, 3)
    model = _model()
    fit(
        model,
        X,
        Y,
        epochs=3,
        batch_size=8,
        seed=5,
        optimizer=SGD(model.parameters(), lr=0.05),
        callbacks=[GradientClipping(0.5), LearningRateSchedule(schedule)],
        verbose=False,
    )
    reference = _model()
    optimizer = SGD(reference.parameters(), lr=0.05)
    rng, loss = np.random.default_rng(5), CrossEntropy()
    for epoch in range(3):
        optimizer.lr = float(schedule(epoch))
        order = rng.permutation(len(X))
        for start in range(0, len(X), 8):
            idx = order[start : start + 8]
            reference.backward(loss(reference.forward(X[idx]), Y[idx])[1])
            grads = [g for _, _, g in reference.parameters()]
            norm = float(np.sqrt(sum(float(np.sum(g * g)) for g in grads)))
            if norm > 0.5:
                for g in grads:
                    g *= 0.5 / norm
            optimizer.step()
    for a, b in zip(_weights(model), _weights(reference), strict=True):
        np.testing.assert_array_equal(a, b)


def test_schedule_returning_a_bad_rate_raises_config_error():
    with pytest.raises(ConfigError, match="epoch 1"):
        fit(_model(), X, Y, epochs=3, callbacks=[LearningRateSchedule(lambda e: 0.01 if e == 0 else -1.0)])


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: EarlyStopping(patience=-1), "patience"),
        (lambda: EarlyStopping(patience=1.5), "patience"),
        (lambda: EarlyStopping(monitor=""), "monitor"),
        (lambda: EarlyStopping(mode="up"), "mode"),
        (lambda: EarlyStopping(min_delta=-0.1), "min_delta"),
        (lambda: EarlyStopping(log="stdout"), "log"),
        (lambda: LearningRateSchedule(), "exactly one"),
        (lambda: LearningRateSchedule(lambda e: 0.1, step_size=2), "exactly one"),
        (lambda: LearningRateSchedule(0.1), "function"),
        (lambda: LearningRateSchedule(step_size=0), "step_size"),
        (lambda: LearningRateSchedule(step_size=2, gamma=0.0), "gamma"),
        (lambda: LearningRateSchedule(step_size=2, gamma=1.5), "gamma"),
        (lambda: GradientClipping(0.0), "max_norm"),
        (lambda: GradientClipping(float("nan")), "max_norm"),
        (lambda: GradientClipping("1"), "max_norm"),
        (lambda: ProgressLogger(None), "callable"),
        (lambda: LambdaCallback(on_epoch_end=3), "on_epoch_end"),
    ],
)
def test_bad_callback_arguments_raise_config_error(make, match):
    with pytest.raises(ConfigError, match=match):
        make()


def test_fit_rejects_what_is_not_a_callback():
    with pytest.raises(ConfigError, match=r"callbacks\[0\].*LambdaCallback"):
        fit(_model(), X, Y, callbacks=[lambda epoch: None], verbose=False)
    with pytest.raises(ConfigError, match="list"):
        fit(_model(), X, Y, callbacks=GradientClipping(1.0), verbose=False)
    with pytest.raises(ConfigError, match=r"monitors 'accuracy_top5'.*\['loss', 'accuracy'\]"):
        fit(_model(), X, Y, callbacks=[EarlyStopping("accuracy_top5")], verbose=False)


def test_callbacks_are_exported_from_nn():
    for name in (
        "Callback",
        "EarlyStopping",
        "GradientClipping",
        "LambdaCallback",
        "LearningRateSchedule",
        "ProgressLogger",
        "TransitionSchedule",
    ):
        assert name in nn.__all__ and getattr(nn, name).__module__ in ("nn.train", "nn.convert")
