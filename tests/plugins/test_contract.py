"""The contract every discovered implementation and engine honours, checked from their class
constants without importing a framework. Parametrised over what the registry finds, so a new
implementation file gets these checks (and the parity and accuracy tests) for free."""

from __future__ import annotations

import inspect

import pytest

from harness.plugins import registry
from harness.plugins.contract import Engine, Trainer

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
