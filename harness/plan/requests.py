"""The plan: the runs to do (:class:`RunRequest`), with the policy every worker applies; its groups
(the runs measured together) and shards (a deterministic split of the groups over machines). Each
request carries its resolved spec and says which run it is (:meth:`RunRequest.identity`), from
which :mod:`harness.record.schema` makes its record."""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

from harness.errors import UsageError
from harness.plugins import registry
from harness.plugins.registry import ImplInfo
from harness.problem.train_spec import TrainSpec
from harness.record.keys import config_key, run_name
from harness.record.schema import RunIdentity


@dataclass(frozen=True)
class RunRequest:
    """One run to do: what to train, where, how, and how much to measure."""

    task: str
    impl: str
    device: str = "cpu"
    mode: str = "default"
    seed: int = 0
    overrides: dict[str, Any] = field(default_factory=dict)
    suite: str = ""
    timeout_s: float = 900.0
    step_samples: int = 30
    eval_repeats: int = 5
    track_test: bool = False  # evaluate the test split after every epoch too (overfitting studies)
    twin: bool = False  # the group's A/A twin: an identical second run of one of its runs
    purpose: str = ""  # why the plan runs it (harness.record.schema.PURPOSES): the record says it too
    # Interleaved: epochs the run trains back to back in each round (a block; a group takes its
    # runs' largest). With 2 or more, the epochs that begin a round (after the schedule's pause)
    # are kept out of the headline (harness.record.derived.steady_epochs_s) and measure the pause.
    epochs_per_round: int = 1

    @cached_property
    def spec(self) -> TrainSpec:
        """The resolved spec: the task's defaults, the overrides, this seed. Resolved here, once
        per request (the plan's validation resolves it first; a worker once on receiving it), and
        carried with the request: the run stage reads it, never resolves it again."""
        return registry.family(self.task).make_spec(self.task, **{**self.overrides, "seed": self.seed})

    def network_words(self) -> str:
        """The task, and which of its networks when not its own: ``mnist1d``, ``mnist1d 40-64-10
        b64``. What the plan's phases and the progress lines call its group."""
        if not {"hidden", "batch_size"} & set(self.overrides):
            return self.task
        return f"{self.task} {'-'.join(map(str, self.spec.layer_sizes()))} b{self.spec.batch_size}"

    def label(self) -> str:
        """Short human label, e.g. ``mnist/torch[default]@cpu seed=0``."""
        name = run_name(self.task, self.impl, self.mode, self.device, self.seed)
        return f"{name} (A/A twin)" if self.twin else name

    def to_dict(self) -> dict[str, Any]:
        """The request as a worker receives it; fields newer than the A/B gate's oldest baseline
        only when set, so that such a checkout still reads the requests it is sent."""
        out = {k: getattr(self, k) for k in self.__dataclass_fields__}
        for name, default in (("twin", False), ("epochs_per_round", 1), ("purpose", "")):
            if out[name] == default:
                del out[name]
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunRequest:
        return cls(**data)

    def identity(self, info: ImplInfo | None) -> RunIdentity:
        """Which run this is, as its record says it (``info``: the implementation's plug-in;
        ``None`` when it is not known here)."""
        return RunIdentity(
            task=self.task,
            impl=self.impl,
            framework=info.framework if info else self.impl,
            backend=info.backend if info else "",
            api=info.api if info else "",
            device=self.device,
            mode=self.mode,
            seed=self.seed,
            suite=self.suite,
            purpose=self.purpose,
            config=self.spec.to_dict(),
            twin=self.twin,
        )


def groups(requests: list[RunRequest]) -> list[list[RunRequest]]:
    """The requests split into groups of runs compared with each other (same task, device, seed
    and resolved spec), in the order they first appear: the unit that is interleaved, and the unit
    a shard or a cluster node takes whole."""
    out: dict[tuple[Any, ...], list[RunRequest]] = {}
    for request in requests:
        key = (request.task, request.device, request.seed, config_key(request.spec.to_dict()))
        out.setdefault(key, []).append(request)
    return list(out.values())


TWIN_DEFAULT = "torch"  # cheap to start, steady per step; any implementation can be the twin


def twin_of(group: list[RunRequest], preferred: str = TWIN_DEFAULT) -> RunRequest | None:
    """The run of ``group`` that gets an A/A twin: ``preferred``'s default mode if the group has
    it, else ``preferred`` in another mode, else the group's first run; ``None`` for a group of
    one run (nothing is compared) or one that has its twin already."""
    if len(group) < 2 or any(r.twin for r in group):
        return None
    ranked = sorted(group, key=lambda r: (r.impl != preferred, r.mode != "default"))
    return ranked[0]


def with_twins(requests: list[RunRequest], preferred: str = TWIN_DEFAULT) -> list[RunRequest]:
    """``requests`` with an A/A twin added to each group of two or more runs (right after the
    run it copies): same task, implementation, mode, device, seed and spec, its own run id, marked
    ``twin``. Its paired ratio against the original is the noise floor of every ratio in the group."""
    out: list[RunRequest] = []
    twins = {id(t): replace(t, twin=True) for g in groups(requests) if (t := twin_of(g, preferred))}
    for request in requests:
        out.append(request)
        if id(request) in twins:
            out.append(twins[id(request)])
    return out


@dataclass(frozen=True)
class Tier:
    """One ``[[runs]]`` table of a suite: its priority (0 always runs; 1 and up are added, lowest
    first, while a budget allows), its words, and its runs (A/A twins are added to the plan)."""

    priority: int
    description: str
    requests: list[RunRequest]

    def label(self) -> str:
        """The table in words: its description, or what it runs."""
        if self.description:
            return self.description
        tasks = ", ".join(dict.fromkeys(r.task for r in self.requests))
        modes = sorted({r.mode for r in self.requests})
        seeds = ", ".join(map(str, sorted({r.seed for r in self.requests})))
        what = "every mode" if len(modes) > 1 else f"mode {modes[0]}"
        return f"{tasks}: {len({r.impl for r in self.requests})} implementations, {what}, seed(s) {seeds}"


SHARD_FORM = re.compile(r"^(\d+)/(\d+)$")


def parse_shard(text: str) -> tuple[int, int]:
    """``"K/N"`` -> ``(K, N)`` with ``1 <= K <= N``; anything else is a :class:`UsageError`."""
    found = SHARD_FORM.match(text.strip())
    if not found or not 1 <= int(found.group(1)) <= int(found.group(2)):
        raise UsageError(f"--shard {text!r}: expected K/N with 1 <= K <= N, e.g. --shard 1/4 ... --shard 4/4")
    return int(found.group(1)), int(found.group(2))


@dataclass
class Plan:
    """The runs to do, in order, with the policy every worker applies. A shard's plan keeps the
    whole plan's requests in ``whole`` (its identity, and which run says a thing once)."""

    name: str
    requests: list[RunRequest]
    threads: int = field(default_factory=lambda: os.cpu_count() or 1)
    calibrate: bool = True  # measure the machine (once, cached) and add efficiency to records
    schedule: str = "interleaved"  # or "sequential": see harness.run.schedule
    warm_up: bool = True  # interleaved epochs start after an untimed Trainer.warm_up()
    order_seed: int = field(default_factory=lambda: int.from_bytes(os.urandom(4), "little"))
    shard: str = ""  # "K/N" when this plan is one shard of ``whole``
    executor: str = "local"  # or "ray": each group a Ray task (harness.run.cluster)
    address: str | None = None  # the Ray cluster to join (None: a one-node cluster here)
    accelerator_type: str | None = None  # the GPU kind a Ray gpu group asks for
    whole: list[RunRequest] = field(default_factory=list)
    tiers: list[Tier] = field(default_factory=list)  # the suite's tables (empty: one table of everything)
    twin: str = TWIN_DEFAULT  # the implementation each group's A/A twin copies ("": none)
    budget_s: float | None = None  # what the whole command may take (the suite's; --budget overrides)
    left_out: list[Tier] = field(default_factory=list)  # tables a budget left out
    notes: list[str] = field(default_factory=list)  # the left-out tables in words, with their commands

    def __post_init__(self) -> None:
        self.whole = self.whole or list(self.requests)

    def keeping(self, tiers: list[Tier]) -> Plan:
        """This plan with only ``tiers`` (in their order) and their A/A twins; the others are
        ``left_out``."""
        requests = [r for tier in tiers for r in tier.requests]
        if self.twin:
            requests = with_twins(requests, self.twin)
        kept = {id(t) for t in tiers}
        left = [t for t in self.tiers if id(t) not in kept]
        return replace(self, requests=requests, whole=list(requests), tiers=list(tiers), left_out=left)

    @property
    def plan_id(self) -> str:
        """What every record of this plan, and of each of its shards, carries: a hash of the
        whole plan's name and requests. Merging refuses records of different plans."""
        body = json.dumps([self.name, [r.to_dict() for r in self.whole]], sort_keys=True, default=str)
        return hashlib.sha256(body.encode()).hexdigest()[:16]

    def provenance(self) -> dict[str, Any]:
        """What every record of this plan says it came from (``RunRecord.provenance``): the plan,
        its shard, the seed of its rounds' order, and the budget it was fitted to with the tables
        that budget left out."""
        out: dict[str, Any] = {"plan_id": self.plan_id, "shard": self.shard, "order_seed": self.order_seed}
        if self.budget_s is not None:
            out |= {"budget_s": self.budget_s, "left_out": list(self.notes)}
        return out

    def sharded(self, k: int, n: int) -> Plan:
        """Shard ``k`` of ``n``: every ``n``-th group of the whole plan, starting at the ``k``-th."""
        chosen = [r for i, group in enumerate(groups(self.whole)) if i % n == k - 1 for r in group]
        return replace(self, requests=chosen, shard=f"{k}/{n}", whole=list(self.whole))

    def says_first(self, request: RunRequest, reason: str, reason_of: Any) -> bool:
        """Whether ``request`` is the first run of the whole plan (same implementation, task and
        mode) that cannot run for ``reason``: the one that records it, on whichever shard."""
        key = (request.impl, request.task, request.mode)
        for other in self.whole:
            if (other.impl, other.task, other.mode) == key and reason_of(other) == reason:
                return other == request
        return True
