"""The contract every discovered implementation and engine honours, checked from their class
constants without importing a framework. Parametrised over what the registry finds, so a new
implementation file gets these checks (and the parity and accuracy tests) for free."""

from __future__ import annotations

import importlib
import inspect
import re
from pathlib import Path

import numpy as np
import pytest

from harness.plugins import registry
from harness.plugins.contract import OPTIONAL_METHODS, Engine, Trainer
from tasks.mlp.task import MlpTasks
from tests.tasks import parity_probe, test_parity

IMPLS = sorted(registry.implementations())
ENGINES = sorted(registry.engines())


@pytest.mark.parametrize("name", IMPLS)
def test_implementation_declares_what_the_harness_reads(name: str) -> None:
    info = registry.get(name)
    cls = info.trainer_class()
    assert issubclass(cls, Trainer) and not inspect.isabstract(cls), f"{cls} leaves methods abstract"
    assert cls.FRAMEWORK.lower() == cls.FRAMEWORK and cls.FRAMEWORK.isidentifier()
    assert cls.API in ("low-level", "high-level", "by-hand")
    assert cls.ENGINES and set(cls.ENGINES) <= set(ENGINES)
    assert "default" in cls.MODES and all(isinstance(v, str) and v for v in cls.MODES.values())
    assert cls.DATA_PATH and info.path.parent.name == "impls"
    assert set(info.modes) <= set(info.declared_modes) and "default" in info.modes
    for mode in info.declared_modes:
        assert (cls.mode_reason(mode, info.engine) is None) == (mode in info.modes)
    assert cls.mode_reason("no-such-mode", info.engine), "an unknown mode must be refused with a reason"
    env = cls.worker_env(info.engine)
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in env.items()), env


@pytest.mark.parametrize("name", ENGINES)
def test_engine_declares_what_the_harness_reads(name: str) -> None:
    info = registry.engine(name)
    cls = info.engine_class()
    assert issubclass(cls, Engine) and not inspect.isabstract(cls)
    assert name == cls.NAME and cls.MODULES and cls.VERSION_PACKAGES and cls.SYNC_METHOD
    assert cls.worker_env("cpu").get("CUDA_VISIBLE_DEVICES") == "", "cpu workers must not see GPUs"
    assert "CUDA_VISIBLE_DEVICES" not in cls.worker_env("gpu")


def test_every_engine_has_an_implementation_named_after_its_framework() -> None:
    impls = registry.implementations()
    for name in ENGINES:
        assert any(i.engine == name and not i.backend for i in impls.values()), name


def _toy_trainer() -> Trainer:
    """The toy plug-in's trainer (``tests/data/plugin_toy``: neither optional method), not built."""
    info = registry.get("toy")
    spec = MlpTasks.make_spec("iris", hidden=(), optimizer="sgd")
    return info.trainer_class()(spec, "cpu", "default", info.engine_info().engine_class())


def test_a_trainer_without_the_optional_methods_is_accepted(toy_plugin: Path) -> None:
    """``predict_batch`` and ``get_params`` are optional: the toy plug-in has neither, is no abstract
    class (and runs end to end: ``test_registry``), and says, if called, which caller needs each."""
    trainer = _toy_trainer()
    cls = type(trainer)
    assert not inspect.isabstract(cls) and set(OPTIONAL_METHODS) == {"predict_batch", "get_params"}
    assert not cls.SUPPORTS_PREDICT_BATCH and not cls.SUPPORTS_GET_PARAMS
    for method, args, needed_by in (
        ("predict_batch", (np.zeros((2, 4), np.float32),), "the inference micro-benchmarks need it"),
        ("get_params", (), "the parity tests (they compare weights) need it"),
    ):
        reason = cls.lacks(method)
        assert reason == (
            f"toy (ToySoftmax) does not implement the optional Trainer.{method} "
            f"({OPTIONAL_METHODS[method][0]} is False): {needed_by}"
        )
        with pytest.raises(NotImplementedError, match=re.escape(reason)):
            getattr(trainer, method)(*args)


def test_the_callers_skip_a_trainer_without_them_with_the_reason(toy_plugin: Path) -> None:
    """The micro-benchmarks' inference test and the parity tests' weight comparison skip the toy
    where pytest shows it, with its reason; the parity probe records its losses without weights."""
    trainer = _toy_trainer()
    micro = importlib.import_module("tests.benchmarks.test_micro")
    with pytest.raises(pytest.skip.Exception, match=re.escape(type(trainer).lacks("predict_batch"))):
        micro.test_inference(None, micro.TrainerCache(), "toy", "cpu", "digits")
    with pytest.raises(pytest.skip.Exception, match=re.escape(type(trainer).lacks("get_params"))):
        test_parity.test_each_implementation_and_mode_has_its_weights_compared({}, "toy:default")
    assert parity_probe.weights(trainer, "probe/param") == {}


def test_a_capability_follows_the_method_wherever_the_class_gets_it() -> None:
    """Derived from the class's methods: one from a mixin (the torch loop's ``TorchSteps``) or a
    base class counts; the contract's default does not; an unknown method name is refused."""
    torch_loop = registry.get("torch").trainer_class()
    assert torch_loop.SUPPORTS_PREDICT_BATCH and torch_loop.SUPPORTS_GET_PARAMS
    assert "predict_batch" not in vars(torch_loop) and torch_loop.lacks("get_params") is None

    class Subclass(torch_loop):  # type: ignore[misc, valid-type]
        pass

    assert Subclass.SUPPORTS_PREDICT_BATCH and Subclass.lacks("predict_batch") is None
    valid = "no optional Trainer method 'fit'; valid: predict_batch, get_params"
    with pytest.raises(ValueError, match=valid):
        torch_loop.lacks("fit")
