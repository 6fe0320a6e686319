"""The torch network and optimizer, shared by the torch implementations (the explicit loop and
PyTorch Lightning): one definition, so the two styles differ only in who drives the training."""

from __future__ import annotations

from typing import Any

from harness.problem.train_spec import ADAM_BETAS, ADAM_EPSILON, TrainSpec
from tasks.mlp.engines.torch_engine import torch


def build_module(spec: TrainSpec) -> Any:
    """``Linear -> activation -> Dropout`` per hidden layer, then a ``Linear`` to the logits."""
    nn = torch.nn
    act = {"relu": nn.ReLU, "tanh": nn.Tanh}[spec.activation]
    layers: list[Any] = []
    sizes = spec.layer_sizes()
    for fan_in, fan_out in zip(sizes[:-2], sizes[1:-1], strict=True):
        layers += [nn.Linear(fan_in, fan_out), act()]
        if spec.dropout:
            layers.append(nn.Dropout(spec.dropout))
    layers.append(nn.Linear(sizes[-2], sizes[-1]))
    return nn.Sequential(*layers)


def make_optimizer(spec: TrainSpec, parameters: Any, fused: bool | None = None) -> Any:
    """Adam -> ``AdamW`` (decoupled weight decay, as the spec defines it); SGD -> ``SGD``.

    For SGD without momentum torch's coupled L2 equals the spec's decoupled decay. ``fused=True``
    updates every parameter in one kernel; ``None`` lets torch choose (per-parameter loops on CPU).
    """
    if spec.optimizer == "adam":
        return torch.optim.AdamW(
            parameters,
            lr=spec.learning_rate,
            betas=ADAM_BETAS,
            eps=ADAM_EPSILON,
            weight_decay=spec.weight_decay,
            fused=fused,
        )
    return torch.optim.SGD(
        parameters,
        lr=spec.learning_rate,
        momentum=spec.momentum,
        weight_decay=spec.weight_decay,
        fused=fused,
    )


def _linears(module: Any) -> list[Any]:
    return [m for m in module.modules() if isinstance(m, torch.nn.Linear)]


def load_weights(module: Any, params: list[Any]) -> None:
    """Copy ``[W1 (in, out), b1, ...]`` into the module's ``Linear`` layers (whose weight is (out, in))."""
    with torch.no_grad():
        for layer, w, b in zip(_linears(module), params[::2], params[1::2], strict=True):
            layer.weight.copy_(torch.as_tensor(w.T))
            layer.bias.copy_(torch.as_tensor(b))


def read_weights(module: Any) -> list[Any]:
    """The module's ``Linear`` layers as host numpy arrays in the ``[W1 (in, out), b1, ...]`` layout."""
    out: list[Any] = []
    for layer in _linears(module):
        out += [layer.weight.detach().cpu().numpy().T.copy(), layer.bias.detach().cpu().numpy().copy()]
    return out


WARM_UP_PASSES = 5


def warm_up(model: Any, loss_fn: Any, optimizer: Any, x: Any, y: Any, batch_size: int) -> None:
    """Five forward and backward passes on one batch, no update: after other processes' epochs an
    eager torch step starts ~13% slower until its thread pool and caches are warm again (one pass
    is not enough, five are: measured in benchmarks/switching.py). In eval mode, so dropout
    draws no random numbers and training goes on exactly as it would have; the model's mode is
    restored afterwards (a framework's own loop may go on from here)."""
    training = model.training
    model.eval()
    index = torch.arange(min(batch_size, len(y)), device=x.device)
    for _ in range(WARM_UP_PASSES):
        loss_fn(model(x[index]), y[index]).backward()
    optimizer.zero_grad(set_to_none=True)
    model.train(training)
