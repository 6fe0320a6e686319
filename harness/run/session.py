"""A run inside a worker, moved forward one command at a time by the parent's schedule.

Each run lives in a thread of its own, so that a training loop the implementation owns (``fit``
with callbacks) can be paused between epochs while the worker's main thread reads the parent's
commands. The schedule gives every run of a group a worker of its own (a process per
implementation, mode and device: :mod:`harness.run.schedule`), so nothing of another run shares
the process's thread pools; the protocol still tags every message with its run.

Messages (the parent's ``op`` -> the worker's answer):

- ``start`` with a request (and ``warm_up``: whether each epoch follows an untimed warm-up) ->
  ``started`` once the model is built, or the final ``record`` when the run ended before its first
  epoch (unavailable device, a crash in build);
- ``epoch`` with a ``count`` (the epochs of one round: a block) -> ``epoch`` with the ``seconds`` of
  each and whether ``more`` epochs follow, or the final ``record`` when the run crashed meanwhile;
  when more follow, the answer comes once the loop has set up the next epoch (its pause point);
- ``finish`` (after the last epoch) -> the ``record``, with the closing measurements.
"""

from __future__ import annotations

import queue
import threading

from harness.plan.requests import RunRequest
from harness.plugins.contract import Engine, Trainer
from harness.plugins.registry import ImplInfo
from harness.record.schema import RunRecord
from harness.run.measure import execute
from harness.run.messages import Epochs, EpochsDone, Finish, Finished, Message, Started


class Session:
    """One run in its own thread; :meth:`command` hands it the parent's next command and returns
    its answer. Implements :class:`harness.run.measure.Control`."""

    def __init__(
        self, info: ImplInfo, engine: type[Engine], cls: type[Trainer], request: RunRequest, warm_up: bool
    ) -> None:
        self.warm_up = warm_up
        self.round = -1
        self._left_in_round = 0
        self._block: list[float] = []
        self._pending: EpochsDone | None = None
        self._commands: queue.Queue[Epochs | Finish] = queue.Queue()
        self._answers: queue.Queue[Message] = queue.Queue()
        self._args = (info, engine, cls, request)
        self.thread = threading.Thread(target=self._main, name=f"run {request.label()}", daemon=True)
        self.thread.start()

    def _main(self) -> None:
        record: RunRecord = execute(*self._args, control=self)
        self._answers.put(Finished(record.to_dict()))

    def first_answer(self) -> Message:
        """The answer to ``start``: ``started``, or the final ``record``."""
        return self._answers.get()

    def command(self, message: Epochs | Finish) -> Message:
        """Hand the run the parent's ``epoch`` or ``finish`` message and wait for its answer."""
        self._commands.put(message)
        return self._answers.get()

    def _wait_for(self, expected: type[Epochs] | type[Finish]) -> Epochs | Finish:
        message = self._commands.get()
        if not isinstance(message, expected):
            raise RuntimeError(f"the schedule sent {message.OP!r} where the run expected {expected.OP!r}")
        return message

    # Control
    def built(self) -> None:
        self._answers.put(Started())

    def before_epoch(self, epoch: int) -> int:
        if self._left_in_round == 0:
            self._send_block()  # the finished block's answer: only now, once this epoch is set up
            command = self._wait_for(Epochs)
            assert isinstance(command, Epochs)
            self._left_in_round = max(1, int(command.count))
            self.round += 1
        self._left_in_round -= 1
        return self.round

    def after_epoch(self, epoch: int, seconds: float, more: bool) -> None:
        self._block.append(seconds)
        if self._left_in_round == 0 or not more:
            self._left_in_round = 0
            self._pending = EpochsDone(epoch=epoch, seconds=self._block, more=more)
            self._block = []
            if not more:
                self._send_block()

    def _send_block(self) -> None:
        """Answer the parent for the block just trained. Held back from the block's last epoch
        end to the next epoch's :meth:`before_epoch`, so that what the training loop does between
        epochs (Keras: a new data iterator, the old one destroyed) runs while the schedule still
        waits for this run, not beside the next run's timed epoch."""
        if self._pending is not None:
            self._answers.put(self._pending)
            self._pending = None

    def before_finish(self) -> None:
        self._wait_for(Finish)
