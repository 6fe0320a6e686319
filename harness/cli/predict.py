"""``harness predict``: each implementation's time per step for a network the bench never ran,
from the cost model fitted to a run set (:mod:`harness.plan.step_model`).

Exit status: 0 every implementation asked for predicted; 2 a task, field or value that does not
exist; 3 some implementation has too few networks in the run set to fit (the line says what to
run).
"""

from __future__ import annotations

import argparse
import sys

from harness.cli import options
from harness.cli.exits import Exit
from harness.errors import SpecError, UsageError, check_names
from harness.plan import overrides
from harness.plan.budget import shape_of
from harness.plan.requests import RunRequest
from harness.plugins import registry
from harness.problem.train_spec import DEVICES
from harness.record.format import fmt_seconds, fmt_term_s, is_number


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "predict",
        help="predict each implementation's time per step for a network the bench never ran, from a run set",
    )
    options.add_results(p, "the model is fitted to each machine's newest commit there")
    options.add_one_task(p, None, "the task whose data and defaults the network starts from")
    p.add_argument(
        "--set", action=options.Several, nargs="+", default=[], metavar="FIELD=VALUE", help=options.SET_HELP
    )
    p.add_argument(
        "--impl",
        action=options.Several,
        nargs="+",
        metavar="IMPL",
        help="implementations (default: every one)",
    )
    p.add_argument("--mode", default="default", help="the execution mode (default: default)")
    p.add_argument("--device", default="cpu", help=f"the device: {', '.join(DEVICES)} (default cpu)")
    p.add_argument(
        "--machine", help="the machine id whose records to fit (default: this one, else the only one)"
    )
    p.set_defaults(func=main)


def _records(args: argparse.Namespace) -> tuple[str, list]:
    from harness.record.keys import machine_id
    from harness.report.data import gather
    from harness.run.machine import machine_info

    data = gather(args.results)
    machines = sorted({machine_id(r) for r in data.run_set.records})
    if not machines:
        raise UsageError(f"no run records in {args.results}: run `python -m harness run` first")
    here = machine_info()["machine_id"]
    chosen = args.machine or (here if here in machines else machines[0] if len(machines) == 1 else None)
    if chosen not in machines:
        raise UsageError(f"--machine: {chosen or 'none given'}; the run set has {', '.join(machines)}")
    return chosen, [r for r in data.run_set.records if machine_id(r) == chosen]


CAVEAT = (
    "The intervals are the fit's noise widened by its error at its own networks. Fitted to a default "
    "bench's eight networks (its four tasks' and four cost points), on two networks it was not fitted to "
    "(MNIST 784-1024-1024-10 at batch 256, digits 64-64-10 at batch 16), measured right after the bench "
    "on a 2-core AMD EPYC (2026-12-04), 14 of 18 predictions were within 20%: every one on the wide "
    "network, 6 of 9 on the tiny one (worst numpy, 78%), where the bench's own networks measured again "
    "read 0.70-1.30x of themselves (docs/measured.md; benchmarks/step_model_heldout.py --check measures "
    "it here). Far outside the networks measured (the marks above), read it as an estimate only."
)


def _range(fit, flops: float, hidden_layers: int, batch: int) -> str:  # noqa: ANN001 - a StepFit
    """Marks where the network asked for lies outside the networks the model was fitted to: beyond
    their FLOPs (extrapolated), at a depth none of them had, at a batch beyond theirs."""
    low, high = min(p.flops_per_step for p in fit.points), max(p.flops_per_step for p in fit.points)
    marks = []  # a tenth either side is the same network: a record's FLOPs count its short last batch
    if flops > high * 1.1:
        marks.append(f"extrapolated: {flops / high:.3g}x the largest network measured")
    elif flops < low / 1.1:
        marks.append(f"extrapolated: {low / flops:.3g}x below the smallest network measured")
    depths = sorted({p.hidden_layers for p in fit.points})
    if depths and hidden_layers not in depths:
        measured = " or ".join(map(str, depths))
        marks.append(f"{hidden_layers} hidden layer(s), where the networks measured have {measured}")
    batches = [p.batch_size for p in fit.points]
    if batches and not min(batches) <= batch <= max(batches):
        marks.append(f"batch {batch}, outside the batches measured ({min(batches)}-{max(batches)})")
    return "".join(f"; {mark}" for mark in marks)


def terms_text(fit) -> str:  # noqa: ANN001 - a StepFit
    """The fitted terms in words: per epoch, per step, per layer, the products' rate when large."""
    rate = fit.large_rate
    products = f"products at {rate / 1e9:.3g} GFLOP/s when large" if is_number(rate) else "products free"
    return (
        f"{fmt_term_s(fit.epoch_s)} per epoch in its steps, {fmt_term_s(fit.dispatch_s)} per step, "
        f"{fmt_term_s(fit.layer_s)} per layer, {products}"
    )


def _line(impl: str, fit, target, flops: float, spec) -> str:  # noqa: ANN001 - StepFit, Network, TrainSpec
    """One implementation's prediction: step, interval, epoch setup, the terms, where it extrapolates."""
    low, high = fit.interval(target)
    step = f"{fmt_seconds(fit.step_s(target)):>9} per step [{fmt_seconds(low)}, {fmt_seconds(high)}]"
    setup = f", + {fmt_seconds(fit.overhead_s)} epoch setup" if is_number(fit.overhead_s) else ""
    marks = _range(fit, flops, len(spec.hidden), spec.batch_size)
    return f"{impl:<12} {step}{setup}  ({terms_text(fit)}; fitted to {len(fit.points)} networks{marks})"


def _too_few(impl: str, fit, args: argparse.Namespace) -> str:  # noqa: ANN001 - a StepFit or None
    from harness.plan.step_model import MIN_NETWORKS

    have = f"{len(fit.points)} ({', '.join(p.label for p in fit.points)})" if fit is not None else "none"
    command = f"python -m harness run --suite costs --impl {impl} --mode {args.mode} --results {args.results}"
    return (
        f"{impl}: networks measured: {have}; the model needs {MIN_NETWORKS} or more, of "
        f"different widths, batches and depths: {command}"
    )


def main(args: argparse.Namespace) -> int:
    from harness.plan import step_model  # numpy and scipy, when a model is fitted: --help stays fast

    check_names("task", [args.task], list(registry.tasks()))
    check_names("device", [args.device], list(DEVICES))
    impls = args.impl or list(registry.implementations())
    check_names("implementation", impls, list(registry.implementations()))
    spec_overrides = overrides.parse_set(args.set)
    try:
        spec = registry.family(args.task).make_spec(args.task, **spec_overrides)
        registry.family(args.task).check_spec(spec)
    except SpecError as exc:
        raise UsageError(f"--set: {exc}") from exc
    machine, records = _records(args)
    fits = step_model.fit(records)
    shape = shape_of(RunRequest(args.task, impls[0], args.device, args.mode, overrides=spec_overrides))
    if shape is None:
        raise UsageError(
            f"{args.task}: its plug-in cannot say its split sizes, so no FLOP count to predict at"
        )
    flops = shape.flops_per_step
    sizes = [spec.n_features, *spec.hidden, spec.n_classes]
    network = f"{args.task} {'-'.join(map(str, sizes))}, batch {spec.batch_size}"
    source = f"{machine}'s newest run set ({len(records)} records), {args.mode} mode on {args.device}"
    per_step = f"{flops / 1e6:.3g} MFLOP per step, {shape.steps_per_epoch} steps per epoch"
    print(f"{network}: {per_step}; fitted to {source}")
    target = step_model.Network(tuple(sizes), spec.batch_size, shape.steps_per_epoch)
    missing = []
    for impl in impls:
        fit = fits.get((impl, args.mode, args.device))
        if fit is None or not fit.fitted:
            missing.append(_too_few(impl, fit, args))
        else:
            print(_line(impl, fit, target, flops, spec))
    if len(missing) < len(impls):
        print(CAVEAT)
    for line in missing:
        print(line, file=sys.stderr)
    return Exit.CANNOT_TELL if missing else Exit.OK
