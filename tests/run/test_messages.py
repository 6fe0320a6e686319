"""The worker protocol's typed messages: each one survives its JSON line, the wire form is the one
older checkouts speak (protocol 2, the A/B gate drives them), and a bad line says what is valid."""

from __future__ import annotations

import json

import pytest

from harness.run import messages as m


@pytest.mark.parametrize(
    ("message", "kinds"),
    [
        (m.Calibrate("cpu", 2048), m.REQUESTS),
        (m.Start("r1", {"task": "iris", "impl": "torch"}, warm_up=True), m.REQUESTS),
        (m.Epochs("r1", 3), m.REQUESTS),
        (m.Finish("r1"), m.REQUESTS),
        (m.Ready(2, facts={"import_s": 1.5}), m.ANSWERS),
        (m.Ready(2, error="ImportError: no torch", detail="tb"), m.ANSWERS),
        (m.Started("r1"), m.ANSWERS),
        (m.EpochsDone("r1", 4, [0.1, 0.2], True), m.ANSWERS),
        (m.Finished({"task": "iris"}, "r1"), m.ANSWERS),
        (m.Calibration(result={"n": 4}), m.ANSWERS),
    ],
)
def test_every_message_survives_its_line(message: m.Message, kinds: dict) -> None:
    line = message.to_line()
    assert line.endswith("\n") and line.count("\n") == 1
    assert m.decode(line, kinds) == message


def test_the_wire_form_is_protocol_2_as_older_checkouts_write_it() -> None:
    """Lines exactly as the dict-based protocol-2 code wrote them decode, and ours read the same."""
    old_answer = {"op": "epoch", "epoch": 3, "seconds": [0.5], "more": False, "run": "abc"}
    assert m.decode(json.dumps(old_answer), m.ANSWERS) == m.EpochsDone("abc", 3, [0.5], False)
    old_ready = {"op": "ready", "facts": {"engine": "torch"}}  # protocol 1 did not say it
    assert m.decode(json.dumps(old_ready), m.ANSWERS).protocol == 1
    assert json.loads(m.Epochs("abc", 2).to_line()) == {"op": "epoch", "run": "abc", "count": 2}
    assert json.loads(m.Start("abc", {"task": "iris"}).to_line())["warm_up"] is False


def test_a_bad_line_says_what_was_wrong_and_what_is_valid() -> None:
    with pytest.raises(m.ProtocolError, match="op 'epochs'; expected one of calibrate, start"):
        m.decode('{"op": "epochs", "run": "x"}', m.REQUESTS)
    with pytest.raises(m.ProtocolError, match="not a JSON line"):
        m.decode("Traceback (most recent call last):", m.ANSWERS)
    with pytest.raises(m.ProtocolError, match="'record' message is malformed"):
        m.decode('{"op": "record", "run": "x"}', m.ANSWERS)  # no record
    with pytest.raises(m.ProtocolError, match="expected one of ready, started"):
        m.decode('{"op": "start", "run": "x", "request": {}}', m.ANSWERS)  # a request is no answer
