"""Finds the implementations: every ``tasks/mlp/impl_*.py`` defines one :class:`Trainer` subclass.

Importing an implementation file is cheap (frameworks are imported inside ``setup_framework``),
so the registry reads each class's constants directly. Whether the framework itself is installed
is checked with ``importlib.util.find_spec``, without importing it; a missing framework makes the
implementation "unavailable: <reason>" and its runs get that status, while the rest go on.
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from harness.interface import Trainer

IMPL_DIR = Path(__file__).resolve().parent.parent / "tasks" / "mlp"
IMPL_PACKAGE = "tasks.mlp"
BACKEND_MODULES = {"tensorflow": ("tensorflow",), "jax": ("jax", "optax"), "torch": ("torch",)}
FRAMEWORK_MODULES = {"torch": ("torch",), "tensorflow": ("tensorflow",), "jax": ("jax", "optax")}


class UnknownName(KeyError):
    """An unknown task, implementation, device, mode or suite; the message lists the valid ones."""

    def __str__(self) -> str:
        return str(self.args[0])


@dataclass(frozen=True)
class ImplInfo:
    """One runnable implementation: a Trainer class on one backend (Keras has three)."""

    name: str
    module: str
    class_name: str
    framework: str
    backend: str
    api: str
    modes: tuple[str, ...]  # the modes that can run on this backend
    supports_gpu: bool
    declared_modes: tuple[str, ...] = ()  # every mode of the class, runnable here or not

    @property
    def engine(self) -> str:
        """The framework whose kernels run: Keras runs on its backend's."""
        return self.backend or self.framework

    def trainer_class(self) -> type[Trainer]:
        """Import the implementation file and return its Trainer subclass."""
        return getattr(importlib.import_module(self.module), self.class_name)

    def required_modules(self) -> tuple[str, ...]:
        """Top-level modules that must be importable for this implementation to run."""
        if self.framework == "keras":
            return ("keras", *BACKEND_MODULES[self.backend])
        return FRAMEWORK_MODULES.get(self.framework, (self.framework,))

    def unavailable_reason(self) -> str | None:
        """``None`` when every required module is installed, else which one is missing."""
        missing = [m for m in self.required_modules() if importlib.util.find_spec(m) is None]
        if missing:
            return f"not installed: {', '.join(missing)} (pip install -c constraints.txt {' '.join(missing)})"
        return None


def _trainer_in(module_name: str) -> type[Trainer]:
    module = importlib.import_module(module_name)
    found = [
        obj
        for obj in vars(module).values()
        if isinstance(obj, type) and issubclass(obj, Trainer) and obj.__module__ == module_name
    ]
    if len(found) != 1:
        raise TypeError(f"{module_name} must define exactly one Trainer subclass, found {len(found)}")
    return found[0]


def _impl_name(framework: str, backend: str, default_backend: str) -> str:
    return framework if backend in ("", default_backend) else f"{framework}-{backend}"


@lru_cache(maxsize=1)
def implementations() -> dict[str, ImplInfo]:
    """All implementations by name (``torch``, ``tensorflow``, ``jax``, ``keras``, ``keras-jax``...)."""
    out: dict[str, ImplInfo] = {}
    for path in sorted(IMPL_DIR.glob("impl_*.py")):
        module_name = f"{IMPL_PACKAGE}.{path.stem}"
        cls = _trainer_in(module_name)
        for backend in cls.BACKENDS:
            name = _impl_name(cls.FRAMEWORK, backend, cls.BACKENDS[0])
            out[name] = ImplInfo(
                name=name,
                module=module_name,
                class_name=cls.__name__,
                framework=cls.FRAMEWORK,
                backend=backend,
                api=cls.API,
                modes=tuple(m for m in cls.MODES if cls.mode_reason(m, backend) is None),
                supports_gpu=cls.SUPPORTS_GPU,
                declared_modes=tuple(cls.MODES),
            )
    return out


def get(name: str) -> ImplInfo:
    """The implementation called ``name``; unknown names raise :class:`UnknownName`."""
    impls = implementations()
    if name not in impls:
        raise UnknownName(f"unknown implementation {name!r}; valid: {', '.join(impls)}")
    return impls[name]


def check_names(kind: str, names: list[str], valid: list[str] | tuple[str, ...]) -> None:
    """Raise :class:`UnknownName` if any of ``names`` is not in ``valid``."""
    bad = [n for n in names if n not in valid]
    if bad:
        raise UnknownName(f"unknown {kind} {', '.join(map(repr, bad))}; valid: {', '.join(valid)}")
