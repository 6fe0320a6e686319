"""numpy, by hand: the forward pass, the backward pass and the SGD and Adam updates written out in
numpy, as the chapter before the lesson builds its own small framework. The floor every framework
is held against: what a framework buys over plain array code on the same machine.

Everything is float32, as in the frameworks. The updates follow torch's formulas (``AdamW``: decay
``w *= 1 - lr * wd`` first, then Adam with bias correction and epsilon outside the square root;
``SGD``: momentum buffer ``b = m * b + g``), so the parity tests hold it to the same 1e-4.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from harness.plugins.contract import Splits, Trainer
from harness.problem.train_spec import ADAM_BETAS, ADAM_EPSILON
from tasks.mlp.common import batch_slices, metrics_from_logits


class NumpyTrainer(Trainer):
    """A list of float32 weight arrays, a Python loop over batches, gradients derived by hand."""

    FRAMEWORK = "numpy"
    API = "by-hand"
    ENGINES = ("numpy",)
    MODES = {"default": "forward, backward and optimizer written in numpy, float32"}
    SUPPORTS_GPU = False
    DATA_PATH = "whole dataset as numpy arrays in host memory; batches gathered by fancy indexing"
    COMPILE = {"default": "none: numpy calls BLAS for every matmul"}

    def build(self, params: list[np.ndarray], data: Splits) -> None:
        self.params = [np.array(p, dtype=np.float32) for p in params]
        self.data = self.place(data)
        self.moments = [np.zeros_like(p) for p in self.params]  # Adam's m, or SGD's momentum buffer
        self.second = [np.zeros_like(p) for p in self.params]  # Adam's v
        self.steps = 0
        self.rng = np.random.default_rng([self.spec.seed, 3])  # dropout masks
        self.act, self.act_grad = {
            "relu": (lambda z: np.maximum(z, 0.0), lambda z, a: (z > 0).astype(np.float32)),
            "tanh": (np.tanh, lambda z, a: 1.0 - a * a),
        }[self.spec.activation]

    def _forward(self, x: np.ndarray, train: bool) -> tuple[np.ndarray, list[tuple[Any, ...]]]:
        """Logits, and per hidden layer what the backward pass needs: (input, pre-activation,
        activation before dropout, dropout mask)."""
        cache = []
        n_layers = len(self.params) // 2
        for i in range(n_layers - 1):
            z = x @ self.params[2 * i] + self.params[2 * i + 1]
            a = self.act(z)
            mask = None
            if train and self.spec.dropout:
                keep = 1.0 - self.spec.dropout
                mask = (self.rng.random(a.shape) < keep).astype(np.float32) / np.float32(keep)
            cache.append((x, z, a, mask))
            x = a if mask is None else a * mask
        cache.append((x,))
        return x @ self.params[-2] + self.params[-1], cache

    def _gradients(
        self, logits: np.ndarray, y: np.ndarray, cache: list[tuple[Any, ...]]
    ) -> tuple[float, list]:
        """Mean cross-entropy of the batch and the gradient of every parameter."""
        shifted = logits - logits.max(axis=1, keepdims=True)
        exp = np.exp(shifted)
        probs = exp / exp.sum(axis=1, keepdims=True)
        rows = np.arange(len(y))
        loss = float(-np.mean(np.log(probs[rows, y].astype(np.float64))))
        delta = probs
        delta[rows, y] -= 1.0
        delta /= np.float32(len(y))
        grads: list[np.ndarray] = [None] * len(self.params)  # type: ignore[list-item]
        (x_last,) = cache[-1]
        grads[-2], grads[-1] = x_last.T @ delta, delta.sum(axis=0)
        for i in range(len(cache) - 2, -1, -1):
            x_in, z, a, mask = cache[i]
            delta = delta @ self.params[2 * i + 2].T
            if mask is not None:
                delta = delta * mask
            delta = delta * self.act_grad(z, a)
            grads[2 * i], grads[2 * i + 1] = x_in.T @ delta, delta.sum(axis=0)
        return loss, grads

    def _update(self, grads: list[np.ndarray]) -> None:
        spec = self.spec
        lr, decay = np.float32(spec.learning_rate), np.float32(spec.weight_decay)
        self.steps += 1
        if spec.optimizer == "adam":
            b1, b2 = ADAM_BETAS
            correct1, correct2 = 1.0 - b1**self.steps, 1.0 - b2**self.steps
            for p, g, m, v in zip(self.params, grads, self.moments, self.second, strict=True):
                if decay:
                    p *= np.float32(1.0) - lr * decay
                m *= np.float32(b1)
                m += np.float32(1.0 - b1) * g
                v *= np.float32(b2)
                v += np.float32(1.0 - b2) * g * g
                denom = np.sqrt(v) / np.float32(np.sqrt(correct2)) + np.float32(ADAM_EPSILON)
                p -= np.float32(lr / correct1) * m / denom
            return
        for p, g, buf in zip(self.params, grads, self.moments, strict=True):
            if decay:
                g = g + decay * p  # torch's SGD: coupled, which equals the spec's decay without momentum
            if spec.momentum:
                buf *= np.float32(spec.momentum)
                buf += g
                g = buf
            p -= lr * g

    def train_step(self, index: np.ndarray) -> float:
        x, y = self.data["train"]
        logits, cache = self._forward(x[index], train=True)
        loss, grads = self._gradients(logits, y[index], cache)
        self._update(grads)
        return loss

    def train_epoch(self, order: np.ndarray) -> None:
        for index in batch_slices(order, self.spec.batch_size):
            self.train_step(index)

    def evaluate(self, split: str) -> tuple[float, float]:
        x, y = self.data[split]
        return metrics_from_logits(self._forward(x, train=False)[0], y)

    def predict_batch(self, x: np.ndarray) -> None:
        self._forward(np.asarray(x, dtype=np.float32), train=False)

    def get_params(self) -> list[np.ndarray]:
        return [p.copy() for p in self.params]

    def sync_values(self) -> Sequence[Any]:
        return ()
