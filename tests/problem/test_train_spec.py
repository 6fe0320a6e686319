"""The task spec: validation with clear errors, shared init and batch order, FLOP counts."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from harness.errors import FieldError, SpecError
from harness.problem.train_spec import FIELDS, TrainSpec, field_value
from tasks.mlp import common
from tasks.mlp.task import MlpTasks


def test_defaults_for_every_task() -> None:
    for task in MlpTasks.TASKS:
        spec = MlpTasks.make_spec(task)
        assert spec.task == task and spec.epochs >= 1 and spec.hidden


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"epochs": 0}, "epochs must be a positive integer"),
        ({"batch_size": -1}, "batch_size must be a positive integer"),
        ({"optimizer": "rmsprop"}, "optimizer must be one of sgd, adam, got 'rmsprop'"),
        ({"activation": "gelu"}, "one of relu, tanh"),
        ({"dropout": 1.0}, r"dropout must be a number in \[0, 1\), got 1.0"),
        ({"learning_rate": 0.0}, "learning_rate must be a number > 0"),
        ({"hidden": (0,)}, r"hidden must be a list of positive integers, .*got \(0,\)"),
        ({"learning_rate": "fast"}, "learning_rate must be a number > 0, got 'fast'"),
        ({"weight_decay": float("nan")}, "weight_decay must be a number >= 0, got nan"),
        ({"epochs": True}, "epochs must be a positive integer, got True"),
        ({"epochs": 2.5}, "epochs must be a positive integer, got 2.5"),
        ({"hidden": "64"}, "hidden must be a list of positive integers"),
        ({"optimizer": 1}, "optimizer must be one of sgd, adam, got 1"),
        ({"split_seed": 2**32}, "split_seed must be a whole number from 0 to 4294967295"),
        ({"optimizer": "sgd", "momentum": 0.9, "weight_decay": 1e-4}, "coupled"),
        ({"bogus": 1}, "unknown spec field"),
    ],
)
def test_invalid_specs_are_refused(overrides: dict, message: str) -> None:
    with pytest.raises(SpecError, match=message):
        MlpTasks.make_spec("iris", **overrides)


def test_every_field_has_a_rule_and_a_value_is_given_its_type() -> None:
    """One rule per field, checked by validate and by every reader of a value a person typed."""
    assert list(FIELDS) == [f.name for f in dataclasses.fields(TrainSpec)]
    assert field_value("learning_rate", 1) == 1.0 and isinstance(field_value("learning_rate", 1), float)
    assert field_value("hidden", 64) == (64,) and field_value("hidden", []) == ()
    assert field_value("hidden", [64, 32]) == (64, 32)
    with pytest.raises(FieldError) as info:
        field_value("hidden", [64, "x"])
    assert info.value.name == "hidden" and "64 alone is [64]" in info.value.valid
    with pytest.raises(SpecError, match="unknown spec field 'lr'; valid: task, "):
        field_value("lr", 0.1)


def test_unknown_task_lists_valid() -> None:
    with pytest.raises(SpecError, match="valid: iris, digits, mnist1d, mnist"):
        MlpTasks.make_spec("cifar10")


def test_batch_larger_than_training_split() -> None:
    with pytest.raises(SpecError, match="larger than the iris training split"):
        MlpTasks.load_data(MlpTasks.make_spec("iris", batch_size=500))


def test_init_is_deterministic_and_shaped() -> None:
    spec = MlpTasks.make_spec("digits", seed=3)
    a, b = MlpTasks.init_params(spec), MlpTasks.init_params(spec)
    assert [p.shape for p in a] == [(64, 256), (256,), (256, 128), (128,), (128, 10), (10,)]
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)
    limit = np.sqrt(6 / (64 + 256))
    assert np.abs(a[0]).max() <= limit and np.abs(a[0]).max() > 0.9 * limit
    assert not np.array_equal(a[0], MlpTasks.init_params(spec.replace(seed=4))[0])


def test_single_layer_is_softmax_regression() -> None:
    params = MlpTasks.init_params(MlpTasks.make_spec("iris", hidden=()))
    assert [p.shape for p in params] == [(4, 3), (3,)]


def test_batch_order_is_a_permutation_per_epoch() -> None:
    spec = MlpTasks.make_spec("iris")
    first, second = MlpTasks.batch_order(spec, 0, 90), MlpTasks.batch_order(spec, 1, 90)
    assert sorted(first) == list(range(90)) and not np.array_equal(first, second)
    np.testing.assert_array_equal(first, MlpTasks.batch_order(spec, 0, 90))
    batches = common.batch_slices(first, 16)
    assert [len(b) for b in batches] == [16] * 5 + [10]
    assert spec.steps_per_epoch(90) == 6


def test_flops_match_a_hand_count() -> None:
    spec = TrainSpec(task="mnist", n_features=784, n_classes=10, hidden=(512, 256))
    forward = 2 * (784 * 512 + 512 * 256 + 256 * 10)
    assert forward == 1_070_080
    # backward: weight grads for every layer, input grads for all but the first
    backward = 2 * forward - 2 * 784 * 512
    assert MlpTasks.train_flops_per_sample(spec) == forward + backward == 2_407_424


def test_metrics_from_logits() -> None:
    logits = np.array([[2.0, 0.0], [0.0, 3.0], [1.0, 0.0]])
    loss, acc = common.metrics_from_logits(logits, np.array([0, 1, 1]))
    expected = -np.mean([2 - np.log(np.exp(2) + 1), 3 - np.log(np.exp(3) + 1), 0 - np.log(np.e + 1)])
    assert loss == pytest.approx(expected) and acc == pytest.approx(2 / 3)
