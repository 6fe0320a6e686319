"""Finds the tasks, engines and implementations: a plug-in folder's ``task.py`` defines one
:class:`TaskFamily` subclass (the tasks it offers), every ``engines/*.py`` file one
:class:`Engine` subclass, every ``impls/*.py`` file one :class:`Trainer` subclass.

The plug-in folders are those ``pyproject.toml`` names under ``[tool.mlp-bench] plugins`` (this
project: ``tasks/mlp``) and each folder named in ``$MLPBENCH_PLUGINS`` (separated by
``os.pathsep``), so a task, a framework or an API style is added by adding files, never by
editing the harness, which never imports them by name. Importing those files is cheap
(frameworks are imported by ``Engine.setup``), so the registry reads each class's constants
directly. Whether a framework is installed is checked with
``importlib.util.find_spec``, without importing it; a missing one makes the implementation
"unavailable: <reason>" and its runs get that status, while the rest go on.

An implementation that runs on several engines (Keras) gives one entry per engine: the first is
named after its framework (``keras``), the others ``<framework>-<engine>`` (``keras-jax``).
"""

from __future__ import annotations

import ast
import hashlib
import importlib
import importlib.util
import os
import sys
import tomllib
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import metadata
from pathlib import Path
from types import ModuleType

from harness.errors import SpecError, UnknownName
from harness.plugins.contract import Engine, TaskFamily, Trainer

PROJECT_ROOT = Path(__file__).resolve().parents[2]
PLUGINS_ENV = "MLPBENCH_PLUGINS"


@lru_cache(maxsize=1)
def _configured() -> tuple[tuple[Path, str | None], ...]:
    """The project's own plug-in folders (``[tool.mlp-bench] plugins`` in ``pyproject.toml``),
    importable as packages from the project root."""
    config = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    folders = config.get("tool", {}).get("mlp-bench", {}).get("plugins", [])
    return tuple((PROJECT_ROOT / f, ".".join(Path(f).parts)) for f in folders)


def plugin_folders() -> list[tuple[Path, str | None]]:
    """Each plug-in folder with its package name (``None``: loaded by file path)."""
    extra = [Path(p) for p in os.environ.get(PLUGINS_ENV, "").split(os.pathsep) if p]
    return [*_configured(), *[(p.resolve(), None) for p in extra]]


def _load(path: Path, package: str | None, root: Path | None = None) -> ModuleType:
    """Import a plug-in file: from its package, or by path (``root``: its plug-in folder, when
    the file sits in it rather than in ``engines/`` or ``impls/``)."""
    root = root or path.parent.parent
    inner = "" if root == path.parent else f"{path.parent.name}."
    if package is not None:
        return importlib.import_module(f"{package}.{inner}{path.stem}")
    folder = hashlib.sha1(str(root).encode()).hexdigest()[:10]
    name = f"mlpbench_plugin_{folder}_{inner.replace('.', '_')}{path.stem}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load plug-in file {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _one_class(module: ModuleType, base: type, path: Path) -> type:
    found = [
        obj
        for obj in vars(module).values()
        if isinstance(obj, type) and issubclass(obj, base) and obj.__module__ == module.__name__
    ]
    if len(found) != 1:
        raise TypeError(f"{path} must define exactly one {base.__name__} subclass, found {len(found)}")
    return found[0]


def _files(kind: str) -> list[tuple[Path, str | None]]:
    return [
        (path, package)
        for folder, package in plugin_folders()
        for path in sorted((folder / kind).glob("*.py"))
        if not path.name.startswith("_")
    ]


@cache
def _missing(modules: tuple[str, ...]) -> tuple[str, ...]:
    """Which of ``modules`` are not installed, looked up once per process: planning asks for every
    request of every candidate plan (3,100 lookups, 0.9 s, for the default bench)."""
    return tuple(m for m in modules if importlib.util.find_spec(m) is None)


TASK_FILE = "task.py"


@lru_cache(maxsize=1)
def task_families() -> dict[str, type[TaskFamily]]:
    """Every task by name, mapped to the family that offers it (two families offering one name
    is an error naming both folders)."""
    out: dict[str, type[TaskFamily]] = {}
    where: dict[str, Path] = {}
    for folder, package in plugin_folders():
        path = folder / TASK_FILE
        if not path.is_file():
            continue
        family = _one_class(_load(path, package, folder), TaskFamily, path)
        for task in family.TASKS:
            if task in out:
                raise TypeError(f"task {task!r} is offered by both {where[task]} and {path}")
            out[task], where[task] = family, path
    return out


def tasks() -> tuple[str, ...]:
    """Every task name, in the order the plug-in folders offer them."""
    return tuple(task_families())


def family(task: str) -> type[TaskFamily]:
    """The family that offers ``task``; an unknown name is a ``SpecError`` listing the valid ones."""
    found = task_families().get(task)
    if found is None:
        raise SpecError(f"unknown task {task!r}; valid: {', '.join(tasks())}")
    return found


def suite_folders() -> list[Path]:
    """The suite folders the task families ship."""
    return list(dict.fromkeys(f.SUITES for f in task_families().values() if f.SUITES is not None))


@dataclass(frozen=True)
class EngineInfo:
    """One engine found on disk: its class constants and where it came from."""

    name: str
    path: Path
    package: str | None
    modules: tuple[str, ...]
    version_packages: tuple[str, ...]
    supports_gpu: bool

    def engine_class(self) -> type[Engine]:
        """Import the engine file and return its :class:`Engine` subclass."""
        return _one_class(_load(self.path, self.package), Engine, self.path)

    def unavailable_reason(self) -> str | None:
        """``None`` when the framework is installed, else which module is missing."""
        return _install_hint(_missing(self.modules))

    def version(self) -> str:
        """The installed version of the framework (``""`` when not installed)."""
        for name in self.version_packages:
            try:
                return metadata.version(name)
            except metadata.PackageNotFoundError:
                continue
        return ""


@dataclass(frozen=True)
class ImplInfo:
    """One runnable implementation: a Trainer class on one engine (Keras has three)."""

    name: str
    path: Path
    package: str | None
    class_name: str
    framework: str
    engine: str
    api: str
    modes: tuple[str, ...]  # the modes that can run on this engine
    declared_modes: tuple[str, ...]  # every mode of the class, runnable here or not
    supports_gpu: bool
    modules: tuple[str, ...]
    multi_engine: bool

    @property
    def backend(self) -> str:
        """The engine, named only where the implementation runs on several (Keras' backend)."""
        return self.engine if self.multi_engine else ""

    def trainer_class(self) -> type[Trainer]:
        """Import the implementation file and return its Trainer subclass."""
        return _one_class(_load(self.path, self.package), Trainer, self.path)

    def engine_info(self) -> EngineInfo:
        return engine(self.engine)

    def mode_reason(self, mode: str) -> str | None:
        """``None`` when ``mode`` can run on this engine, else why not."""
        return self.trainer_class().mode_reason(mode, self.engine)

    def unavailable_reason(self) -> str | None:
        """``None`` when every required module is installed, else which one is missing."""
        return _install_hint(_missing((*self.engine_info().modules, *self.modules)))

    def code_lines(self) -> int:
        """Lines of code in the implementation's file: blank lines, comments and docstrings left
        out (what a user of that API style writes)."""
        return code_lines(self.path.read_text(encoding="utf-8"))


def code_lines(source: str) -> int:
    """Lines of ``source`` that hold code: not blank, not only a comment, not in a docstring."""
    docstrings: set[int] = set()
    for node in ast.walk(ast.parse(source)):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
            value = body[0].value
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                docstrings.update(range(body[0].lineno, (body[0].end_lineno or body[0].lineno) + 1))
    lines = source.splitlines()
    return sum(
        1
        for number, line in enumerate(lines, start=1)
        if line.strip() and not line.strip().startswith("#") and number not in docstrings
    )


def _install_hint(missing: tuple[str, ...]) -> str | None:
    if not missing:
        return None
    return f"not installed: {', '.join(missing)} (pip install -c constraints.txt {' '.join(missing)})"


@lru_cache(maxsize=1)
def engines() -> dict[str, EngineInfo]:
    """Every engine by name (``torch``, ``tensorflow``, ``jax`` ...)."""
    out: dict[str, EngineInfo] = {}
    for path, package in _files("engines"):
        cls = _one_class(_load(path, package), Engine, path)
        out[cls.NAME] = EngineInfo(
            cls.NAME, path, package, tuple(cls.MODULES), tuple(cls.VERSION_PACKAGES), cls.SUPPORTS_GPU
        )
    return out


def _impl_name(framework: str, engine_name: str, default_engine: str) -> str:
    return framework if engine_name == default_engine else f"{framework}-{engine_name}"


@lru_cache(maxsize=1)
def implementations() -> dict[str, ImplInfo]:
    """All implementations by name (``torch``, ``tensorflow``, ``jax``, ``keras``, ``keras-jax``...)."""
    known = engines()
    out: dict[str, ImplInfo] = {}
    for path, package in _files("impls"):
        cls = _one_class(_load(path, package), Trainer, path)
        for engine_name in cls.ENGINES:
            if engine_name not in known:
                raise UnknownName(
                    f"{path}: engine {engine_name!r} is not defined; engines: {', '.join(known)}"
                )
            name = _impl_name(cls.FRAMEWORK, engine_name, cls.ENGINES[0])
            out[name] = ImplInfo(
                name=name,
                path=path,
                package=package,
                class_name=cls.__name__,
                framework=cls.FRAMEWORK,
                engine=engine_name,
                api=cls.API,
                modes=tuple(m for m in cls.MODES if cls.mode_reason(m, engine_name) is None),
                declared_modes=tuple(cls.MODES),
                supports_gpu=cls.SUPPORTS_GPU and known[engine_name].supports_gpu,
                modules=tuple(cls.MODULES),
                multi_engine=len(cls.ENGINES) > 1,
            )
    return out


def clear() -> None:
    """Forget what was discovered (after ``$MLPBENCH_PLUGINS`` changed)."""
    engines.cache_clear()
    implementations.cache_clear()
    task_families.cache_clear()


def get(name: str) -> ImplInfo:
    """The implementation called ``name``; unknown names raise :class:`UnknownName`."""
    impls = implementations()
    if name not in impls:
        raise UnknownName(f"unknown implementation {name!r}; valid: {', '.join(impls)}")
    return impls[name]


def engine(name: str) -> EngineInfo:
    """The engine called ``name``; unknown names raise :class:`UnknownName`."""
    found = engines()
    if name not in found:
        raise UnknownName(f"unknown engine {name!r}; valid: {', '.join(found)}")
    return found[name]


def version_packages() -> tuple[str, ...]:
    """Every distribution whose version a record carries: the engines' and the implementations'."""
    names = [p for e in engines().values() for p in e.version_packages]
    names += [m for i in implementations().values() for m in i.modules]
    return tuple(dict.fromkeys(names))
