"""The schedule: which runs are measured together, and in what order their epochs happen.

On a shared machine the speed drifts by tens of percent over minutes, so runs measured minutes
apart differ by the drift, not by their code. The runs a report compares with each other (same
task, device, seed and spec: a *group*) are therefore interleaved: all of them are built, then in
round ``r`` each trains its epoch ``r``, in a fresh random order every round, so every round holds
one sample of each under the same conditions (Abedi and Brecht, ICPE 2017; asv's interleaved
rounds); an A/A twin and its original (or the A/B gate's two sides of one run) take turns being
first. ``sequential`` runs them back to back instead, each from its first epoch to its last.

Each (implementation, mode, device) has one worker process, kept across groups (an A/A twin one
of its own), so the runs of a group never share a process. A worker that dies or stops answering
costs the run it was serving (``crashed`` or ``timeout``, with the reason); the next group gets a
fresh one.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field

from harness.plan.requests import RunRequest
from harness.plugins import registry
from harness.record.schema import RunRecord, unfinished
from harness.run.messages import Epochs, EpochsDone, Finish, Finished, Message, Start, Started
from harness.run.timing import clock
from harness.run.worker_client import Checkout, Worker, WorkerDied

SCHEDULES = ("interleaved", "sequential")


# (side, implementation, mode, device); side "" outside the A/B gate. Each mode has a process of
# its own: two runs in one process share its OpenMP pools, and the idle one's threads spin beside
# the other's epoch (measured: torch's default run beside its fused one in one worker, mnist1d,
# 0.49x [0.43, 0.54] its own A/A twin in a worker alone).
WorkerKey = tuple[str, str, str, str]
TWIN_SIDE = "twin"  # an A/A twin runs in a worker of its own, on this side's code


class Pool:
    """Live workers by (side, implementation, device); ``checkouts`` says which code each side
    runs (default: this checkout for side ""). A dead worker is forgotten and replaced when next
    needed."""

    def __init__(self, threads: int, checkouts: Mapping[str, Checkout] | None = None) -> None:
        self.threads = threads
        self.checkouts = dict(checkouts or {"": Checkout()})
        self.workers: dict[WorkerKey, Worker] = {}

    def _spawn(self, key: WorkerKey, wait: bool) -> Worker:
        side, impl, _, device = key
        checkout = self.checkouts[side if side != TWIN_SIDE else ""]
        worker = Worker(registry.get(impl).engine, impl, device, self.threads, checkout, wait=wait)
        self.workers[key] = worker
        return worker

    def get(self, key: WorkerKey) -> Worker:
        return self.workers[key] if key in self.workers else self._spawn(key, wait=True)

    def start(self, keys: list[WorkerKey]) -> None:
        """Start the workers of ``keys`` that are not running, all at once, without waiting for
        them: their imports overlap (nothing is timed meanwhile); each :attr:`Worker.ready` waits."""
        for key in keys:
            if key not in self.workers:
                self._spawn(key, wait=False)

    def wait_ready(self, keys: list[WorkerKey]) -> None:
        """Wait until every worker of ``keys`` has said ``ready`` (or died: its runs will say so)."""
        for key in keys:
            worker = self.workers.get(key)
            if worker is None:
                continue
            try:
                _ = worker.ready
            except WorkerDied:
                self.workers.pop(key, None)

    def drop(self, key: WorkerKey) -> None:
        worker = self.workers.pop(key, None)
        if worker is not None:
            worker.kill()
            worker.close()

    def close(self, kill: bool = False) -> None:
        """Stop every worker (at once with ``kill``: after Ctrl-C nothing may be left behind).
        Every worker is told to exit before any is waited for: a framework's teardown takes about
        a second, and in turn eight of them took seven."""
        workers = list(self.workers.values())
        for worker in workers:
            if kill:
                worker.kill()
            else:
                worker.shut()
        for worker in workers:
            worker.close()
        self.workers.clear()


@dataclass
class Live:
    """One run of a group while the group runs."""

    request: RunRequest
    info: registry.ImplInfo
    side: str = ""
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    budget_s: float = 0.0
    record: RunRecord | None = None  # set once the run is over
    more: bool = False  # another epoch to train
    started: bool = False

    def __post_init__(self) -> None:
        self.budget_s = self.request.timeout_s

    @property
    def key(self) -> WorkerKey:
        return (self.side, self.info.name, self.request.mode, self.request.device)


class Group:
    """Drives one group's runs through the workers of ``pool`` on ``schedule``."""

    def __init__(
        self,
        requests: list[RunRequest] | list[tuple[str, RunRequest]],
        pool: Pool,
        schedule: str,
        rng: random.Random,
        on_round: Callable[[str], None] = lambda label: None,
        warm_up: bool = True,
        epochs_per_round: int = 1,
    ) -> None:
        """``requests`` may carry the side each runs on (the A/B gate); plain requests run here.
        ``warm_up``: interleaved epochs start after an untimed warm-up (see ``Trainer.warm_up``);
        ``epochs_per_round``: how many epochs each run trains back to back in one round (a block)."""
        self.warm_up, self.epochs_per_round = warm_up, epochs_per_round
        sided = [r if isinstance(r, tuple) else (TWIN_SIDE if r.twin else "", r) for r in requests]
        self.lives = [Live(r, registry.get(r.impl), side) for side, r in sided]
        self.pool, self.schedule, self.rng, self.on_round = pool, schedule, rng, on_round
        self.group_id = uuid.uuid4().hex[:12]

    def run(self) -> list[RunRecord]:
        """Every run of the group to its end; one record each, in the order of the requests."""
        if self.schedule == "sequential":
            self.started = clock()
            for live in self.lives:
                self._start(live)
                while live.more:
                    self._epoch(live)
                self._finish(live)
            return [self._stamp(live) for live in self.lives]
        self.begin()
        first = self.lives[0].request
        name = first.network_words()
        rounds = max(-(-live.request.spec.epochs // self.epochs_per_round) for live in self.lives)
        for round_index in self._rounds():  # the rounds planned: a run that ends early ends them sooner
            self.on_round(f"{name} seed {first.seed}, round {round_index + 1} of {rounds} done")
        return self.end()

    # An interleaved group driven from outside, round by round, beside work of the driver's own
    # (benchmarks/bare_loop.py puts bare loops in the same rounds): begin, advance each run once
    # per round in the driver's order, end. run() is these three with the group's own rounds.

    def begin(self) -> None:
        """Start the group's clock and every run (each worker builds it and, where the schedule
        warms up, is ready for its first epoch)."""
        self.started = clock()
        for live in self.lives:
            self._start(live)

    def advance(self, index: int = 0) -> bool:
        """Run ``index`` (in the order of the requests) trains its next epoch, or block of
        ``epochs_per_round``; whether it has another to train."""
        live = self.lives[index]
        if live.more:
            self._epoch(live)
        return live.more

    def end(self) -> list[RunRecord]:
        """Finish every run (the closing measurements), stamp the group's facts; the records in
        the order of the requests."""
        for live in self.lives:
            self._finish(live)
        return [self._stamp(live) for live in self.lives]

    def _partners(self) -> list[tuple[Live, Live]]:
        """Pairs of runs of one implementation and mode (a group shares task, seed and spec): an
        A/A twin and its original, the A/B gate's baseline and candidate."""
        same: dict[tuple[str, str], list[Live]] = {}
        for live in self.lives:
            same.setdefault((live.request.impl, live.request.mode), []).append(live)
        return [(pair[0], pair[1]) for pair in same.values() if len(pair) == 2]

    def _rounds(self) -> Iterator[int]:
        """Each round, every run with an epoch left trains it (or its block), in a fresh random
        order, except that the two runs of a pair (:meth:`_partners`) take turns being first: the
        one who goes second after an identical epoch can read some percent faster (a default bench
        of 2026-12-03: the twin 0.93x its original when after it, 1.07x when before), and a group
        of four rounds drawn at random can put the twin second in all four. Which of the two
        begins is drawn once per pair."""
        pairs = [(a, b, self.rng.random() < 0.5) for a, b in self._partners()]
        round_index = 0
        while any(live.more for live in self.lives):
            order = [live for live in self.lives if live.more]
            self.rng.shuffle(order)
            place = {id(live): k for k, live in enumerate(order)}
            for a, b, a_begins in pairs:
                i, j = place.get(id(a)), place.get(id(b))
                if i is not None and j is not None and (i < j) != (a_begins == (round_index % 2 == 0)):
                    order[i], order[j] = b, a
            for live in order:
                if live.more:  # a worker that died this round took its other runs with it
                    self._epoch(live)
            yield round_index
            round_index += 1

    def _stamp(self, live: Live) -> RunRecord:
        assert live.record is not None
        live.record.execution |= {
            "schedule": self.schedule,
            "group": self.group_id,
            "group_size": len(self.lives),
            "epochs_per_round": self.epochs_per_round,
            "group_s": round(clock() - self.started, 3),  # the whole group's wall time, starts included
        }
        if live.side == TWIN_SIDE:
            original = self._original(live).record
            live.record.execution["twin_of"] = original.run_id if original else ""
        elif live.side:
            live.record.execution["side"] = live.side
        return live.record

    def _original(self, twin: Live) -> Live:
        """The run an A/A twin copies: the group's run of the same request, not a twin."""
        same = (twin.request.impl, twin.request.mode)
        return next(x for x in self.lives if not x.request.twin and (x.request.impl, x.request.mode) == same)

    def _ask(self, live: Live, message: Message) -> Message:
        worker = self.pool.get(live.key)
        start = clock()
        try:
            worker.send(message)
            return worker.receive(max(live.budget_s, 1.0))
        finally:
            live.budget_s -= clock() - start

    def _start(self, live: Live) -> None:
        try:
            worker = self.pool.get(live.key)
            if worker.ready.error is not None:
                reason = f"import failed: {worker.ready.error}"
                live.record = unfinished(live.request.identity(live.info), "unavailable", reason)
                return
            warm_up = self.schedule == "interleaved" and self.warm_up
            self._answer(live, self._ask(live, Start(live.run_id, live.request.to_dict(), warm_up)))
        except WorkerDied as died:
            self._died(live, died)

    def _epoch(self, live: Live) -> None:
        try:
            self._answer(live, self._ask(live, Epochs(live.run_id, self.epochs_per_round)))
        except WorkerDied as died:
            self._died(live, died)

    def _finish(self, live: Live) -> None:
        if live.record is not None or not live.started:
            return
        try:
            self._answer(live, self._ask(live, Finish(live.run_id)))
        except WorkerDied as died:
            self._died(live, died)

    def _answer(self, live: Live, answer: Message) -> None:
        if isinstance(answer, Finished):
            live.record, live.more = RunRecord.from_dict(answer.record), False
            worker = self.pool.workers.get(live.key)
            if worker is not None:
                live.record.execution.update(worker.ready.facts or {})
        elif isinstance(answer, Started):
            live.started = live.more = True
        elif isinstance(answer, EpochsDone):
            live.more = bool(answer.more)
        else:
            raise WorkerDied("crashed", f"the worker answered {answer.OP!r} to a run's command")

    def _died(self, live: Live, died: WorkerDied) -> None:
        """The worker serving ``live`` died: it costs ``live`` (no other run of the group shares
        its process); the next group gets a fresh worker."""
        self.pool.drop(live.key)
        live.record, live.more = unfinished(live.request.identity(live.info), died.status, str(died)), False
