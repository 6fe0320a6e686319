"""Suites and command-line selections: expansion, narrowing, and clear errors before any run."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.cli.main import main
from harness.errors import UsageError
from harness.plan import overrides, suites
from harness.plan.requests import RunRequest
from harness.plugins import registry
from harness.record.schema import STEP_MODEL_POINT, new_record

NAMES = {"task": "tasks", "impl": "impls", "device": "devices", "mode": "modes", "set": "overrides"}


def _args(**kw) -> suites.Selection:
    """A selection spelled with the command-line option names (``task``, ``impl``, ``set``...)."""
    renamed = {
        "twin": "",
        **{NAMES.get(k, k): v for k, v in kw.items()},
    }  # A/A twins: tests/run/test_twins.py
    if "timeout" in renamed:
        renamed["timeout_s"] = renamed.pop("timeout")
    return suites.Selection(**renamed)


def test_shipped_suites_load_and_expand() -> None:
    assert {"smoke", "default", "full"} <= set(suites.shipped_suites())
    for name in suites.shipped_suites():
        plan = suites.plan_for(_args(suite=name))
        assert plan.requests and all(r.suite == name for r in plan.requests)


def test_default_suite_covers_every_task_impl_and_device() -> None:
    requests = suites.plan_for(_args()).requests
    assert {r.task for r in requests} == {"iris", "digits", "mnist1d", "mnist"}
    assert {r.impl for r in requests} == set(registry.implementations())
    assert {r.device for r in requests} == {"cpu", "gpu"} and {r.seed for r in requests} == {0, 1, 2, 3, 4}
    plan = suites.plan_for(_args())
    always = [r for t in plan.tiers if t.priority == 0 for r in t.requests]  # what no budget cuts
    assert {(r.task, r.impl, r.device) for r in always} == {
        (t, i, d) for t in ("iris", "digits", "mnist1d", "mnist") for i in registry.implementations()
        for d in ("cpu", "gpu")
    }  # fmt: skip
    assert {r.mode for r in always} == {"default"} and {r.seed for r in always} == {0}
    assert plan.budget_s == 470 and [t.priority for t in plan.tiers if t.priority] == sorted(
        t.priority for t in plan.tiers if t.priority
    )


def test_selection_narrows_and_overrides() -> None:
    plan = suites.plan_for(
        _args(
            suite="smoke",
            task=["iris"],
            impl=["torch", "jax"],
            seeds=[4, 5],
            epochs=3,
            set=["hidden=[8]", "learning_rate=0.1"],
        )
    )
    assert len(plan.requests) == 4
    spec = plan.requests[0].spec
    assert spec.epochs == 3 and spec.hidden == (8,) and spec.learning_rate == 0.1
    assert {r.seed for r in plan.requests} == {4, 5}


def test_adhoc_selection_without_suite() -> None:
    plan = suites.plan_for(_args(task=["digits"], impl=["keras"]))
    assert [(r.task, r.impl, r.device, r.seed) for r in plan.requests] == [("digits", "keras", "cpu", 0)]


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        (dict(task=["cifar"]), "unknown task 'cifar'; valid: iris, digits, mnist1d, mnist"),
        (dict(impl=["mxnet"]), "unknown implementation 'mxnet'; valid:"),
        (dict(device=["tpu"]), "unknown device 'tpu'; valid: cpu, gpu"),
        (dict(suite="nightly"), "unknown suite 'nightly'; valid:"),
        (dict(task=["iris"], epochs=0), "epochs must be a positive integer"),
        (dict(task=["iris"], seeds=[-1]), "seeds must be >= 0"),
        (dict(task=["iris"], set=["batch_size=1000"]), "larger than the iris training split"),
        (dict(task=["iris"], set=["nonsense"]), "--set expects FIELD=VALUE"),
        (dict(task=["iris"], threads=0), "threads must be >= 1"),
    ],
)
def test_bad_input_is_refused_before_running(kw: dict, message: str) -> None:
    with pytest.raises((registry.UnknownName, suites.SpecError)) as info:
        suites.plan_for(_args(**kw))
    assert message in str(info.value)


def test_malformed_toml_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('description = "x"\n[[runs]]\ntasks = [iris]\nimpls = ["*"]\n')
    with pytest.raises(suites.SuiteError, match=r"bad.toml: malformed TOML: .*line 3"):
        suites.plan_for(_args(suite=str(path)))


def test_unknown_suite_key_lists_valid(tmp_path: Path) -> None:
    path = tmp_path / "typo.toml"
    path.write_text('[[runs]]\ntasks = ["iris"]\nepochs = 3\n')
    with pytest.raises(suites.SuiteError, match=r"unknown key\(s\) \['epochs'\]; valid: "):
        suites.plan_for(_args(suite=str(path)))


@pytest.mark.parametrize(
    "argv",
    [
        ["run", "--task", "cifar", "--dry-run"],
        ["run", "--impl", "mxnet", "--dry-run"],
        ["run", "--device", "tpu", "--dry-run"],
        ["run", "--suite", "nightly", "--dry-run"],
        ["run", "--task", "iris", "--epochs", "-3", "--dry-run"],
    ],
)
def test_cli_exit_status_2_and_message(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and ("valid" in err or "must be" in err)


def test_cli_dry_run_lists_runs(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--suite", "smoke", "--dry-run"]) == 0
    out = capsys.readouterr().out
    n_impls = len(registry.implementations())  # smoke: two tasks, every implementation once, a twin each
    assert "iris/torch[default]@cpu seed=0 (A/A twin)" in out and out.strip().endswith(
        f"{2 * n_impls + 2} runs"
    )


def test_cli_list_and_env(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "keras-jax" in out and "gpu" in out and "smoke" in out
    assert main(["env"]) == 0
    assert '"fingerprint"' in capsys.readouterr().out


def test_default_suite_runs_every_framework_as_written_and_in_every_fast_path() -> None:
    """Before a budget cuts it: the small tasks every implementation as written, five seeds; every
    fast path (one seed) on iris and mnist1d; MNIST as written, three seeds, three epochs (a steady
    median over two epochs: the fewest a step time takes); and, apart, the step model's four
    networks on mnist1d, seed 0, every implementation, each run marked for the step model alone."""
    plan = suites.plan_for(_args()).requests
    points = [r for r in plan if r.purpose == STEP_MODEL_POINT]
    requests = [r for r in plan if not r.purpose]
    assert len(points) + len(requests) == len(plan)
    # depth, width and batch vary; the two wide ones pin the rate of large products at two sizes
    hidden = {(tuple(r.overrides["hidden"]), r.overrides["batch_size"]) for r in points}
    assert hidden == {((64,), 64), ((1024, 1024), 128), ((1024, 1024), 512), ((64, 64), 16)}
    for info in registry.implementations().values():
        mine = [r for r in points if (r.impl, r.device, r.twin) == (info.name, "cpu", False)]
        assert {(r.task, r.mode, r.seed) for r in mine} == {("mnist1d", "default", 0)} and len(mine) == 4
    fast_tasks = ("iris", "mnist1d")
    for info in registry.implementations().values():
        for task in ("iris", "digits", "mnist1d", "mnist"):
            mine = [r for r in requests if (r.impl, r.task, r.device) == (info.name, task, "cpu")]
            seeds = [0, 1, 2] if task == "mnist" else [0, 1, 2, 3, 4]  # every table, before a budget cuts
            assert sorted(r.seed for r in mine if r.mode == "default") == seeds
            fast = sorted(r.mode for r in mine if r.mode != "default")
            expected = sorted(m for m in info.declared_modes if m != "default") if task in fast_tasks else []
            assert fast == expected, (info.name, task)
            assert all(r.seed == 0 for r in mine if r.mode != "default")
    assert {r.overrides.get("epochs") for r in requests if r.task == "mnist"} == {3}  # the target at epoch 2


def test_mode_star_expands_per_implementation_and_minus_leaves_out(tmp_path: Path) -> None:
    path = tmp_path / "modes.toml"
    path.write_text('[[runs]]\ntasks = ["iris"]\nimpls = ["jax", "torch"]\nmodes = ["*", "-default"]\n')
    requests = suites.plan_for(_args(suite=str(path))).requests
    assert sorted((r.impl, r.mode) for r in requests) == sorted(
        [("jax", m) for m in registry.get("jax").declared_modes if m != "default"]
        + [("torch", m) for m in registry.get("torch").declared_modes if m != "default"]
    )
    every = suites.plan_for(_args(suite=str(path), mode=["*"])).requests
    assert {(r.impl, r.mode) for r in every} >= {("jax", "default"), ("jax", "scan"), ("torch", "fused")}


def test_a_declared_mode_the_backend_cannot_run_is_kept_to_be_recorded_unavailable() -> None:
    requests = suites.plan_for(_args(suite="modes", impl=["keras-torch"])).requests
    assert "fast" in {r.mode for r in requests}
    assert "fast" not in registry.get("keras-torch").modes


def test_a_plan_too_short_to_give_a_step_time_is_refused_with_the_smallest_that_would() -> None:
    """A run needs two steady epochs: one epoch (it compiles) or two in rounds of three (the
    first of a round follows the pause) says nothing, and is refused before anything runs."""
    with pytest.raises(
        suites.SuiteError, match=r"1 epoch\(s\) in rounds of 1 leave 0 steady .* the smallest: --epochs 3"
    ):
        suites.plan_for(_args(task=["iris"], impl=["torch"], epochs=1))
    with pytest.raises(suites.SuiteError, match=r"rounds of 4 leave 1 steady .* the smallest: --epochs 3"):
        suites.plan_for(_args(task=["iris"], impl=["torch"], epochs=2, epochs_per_round=4))
    assert suites.steady_epochs(12, 3) == 8 and suites.steady_epochs(3, 1) == 2
    assert len(suites.plan_for(_args(task=["iris"], impl=["torch"], epochs=3)).requests) >= 1


def test_an_ab_gate_that_cannot_decide_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ab", "--rounds", "1"]) == 2
    assert "needs 2 rounds or more" in capsys.readouterr().err
    assert main(["ab", "--pairs", "1", "--max-pairs", "1"]) == 2
    assert "the smallest: --max-pairs 2" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("seeds = [-1]\n[[runs]]", r"seeds = \[-1\]: expected a list of whole numbers from 0 to 4294967295"),
        ('seeds = "0"\n[[runs]]', r"seeds = '0': expected a list of whole numbers from 0 to"),
        ('timeout_s = "fast"\n[[runs]]', r"timeout_s = 'fast': expected a number of seconds > 0"),
        ("threads = 0\n[[runs]]", "threads = 0: expected a positive integer"),
        ("track_test = 1\n[[runs]]", "track_test = 1: expected true or false"),
        ('twin = "mxnet"\n[[runs]]', "twin: unknown implementation 'mxnet'; valid:"),
        ("runs = 3", "runs = 3: expected \\[\\[runs\\]\\] tables"),
        ('[[runs]]\ntasks = "iris"', "#1: tasks = 'iris': expected a list of task names"),
        ('[[runs]]\nimpls = ["mxnet"]', r"#1: impls: unknown implementation 'mxnet'; valid: \*, "),
        ('[[runs]]\ndevices = ["tpu"]', "#1: devices: unknown device 'tpu'; valid: cpu, gpu"),
        (
            '[[runs]]\nspec = { learning_rate = "fast" }',
            "spec.learning_rate = 'fast': learning_rate must be a number > 0",
        ),
        ("[[runs]]\nspec = { epochs = 2.5 }", "spec.epochs = 2.5: epochs must be a positive integer"),
        (
            "[[runs]]\nspec = { seed = 3 }",
            "spec.seed = 3: seed cannot be overridden: seeds are chosen with --seeds",
        ),
        ("[[runs]]\nspec = { lr = 3 }", "spec.lr = 3: unknown spec field 'lr'; valid: hidden, "),
        ("[[runs]]\nspec = 3", "spec = 3: expected a table of spec fields"),
        (
            '[[runs]]\nimpls = ["keras"]\nmodes = ["scan"]',
            "#1: keras has no mode 'scan'; its modes: default, ",
        ),
        ('[[runs]]\nmodes = ["turbo"]', "#1: no implementation has mode 'turbo'; valid: "),
        (
            '[[runs]]\nimpls = ["keras"]\nmodes = ["*", "-scan"]',
            "#1: no implementation of keras has mode 'scan'",
        ),
    ],
)
def test_every_suite_key_is_checked_against_its_type_naming_the_file_and_key(
    tmp_path: Path, toml: str, message: str
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(toml + "\n")
    with pytest.raises(UsageError, match=message) as info:
        suites.plan_for(_args(suite=str(path)))
    assert str(info.value).startswith(str(path))


def test_a_suite_spec_is_given_its_fields_types(tmp_path: Path) -> None:
    path = tmp_path / "typed.toml"
    path.write_text(
        '[[runs]]\ntasks = ["iris"]\nimpls = ["numpy"]\nspec = { hidden = 16, learning_rate = 1 }\n'
    )
    request = suites.plan_for(_args(suite=str(path))).requests[0]
    assert request.overrides == {"hidden": [16], "learning_rate": 1.0}
    assert request.spec.hidden == (16,)


@pytest.mark.parametrize(
    ("items", "expected"),
    [
        (["epochs=5", "learning_rate=1e-2"], {"epochs": 5, "learning_rate": 0.01}),
        (["optimizer=sgd", "momentum=0.5"], {"optimizer": "sgd", "momentum": 0.5}),
        (["hidden=[]", "activation='tanh'"], {"hidden": [], "activation": "tanh"}),
        (["hidden=[64, 32]", "dropout=0"], {"hidden": [64, 32], "dropout": 0.0}),
        (["hidden=64"], {"hidden": [64]}),
        ([" epochs = 4 "], {"epochs": 4}),
    ],
)  # fmt: skip
def test_set_values_are_read_by_their_fields_type(items: list[str], expected: dict) -> None:
    assert overrides.parse_set(items) == expected


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ("learning_rate=fast", "--set learning_rate=fast: learning_rate must be a number > 0$"),
        ("learning_rate=0", "--set learning_rate=0: learning_rate must be a number > 0$"),
        ("learning_rate=inf", "--set learning_rate=inf: learning_rate must be a number > 0$"),
        ("epochs=true", "--set epochs=true: epochs must be a positive integer$"),
        ("epochs=3.0", "--set epochs=3.0: epochs must be a positive integer$"),
        ("epochs=3\nbatch_size=1", "epochs must be a positive integer$"),
        ("hidden=64,32", r"hidden must be a list of positive integers, .*\[64, 32\] .*64 alone is \[64\]$"),
        ("hidden=[0]", "hidden must be a list of positive integers"),
        ("optimizer=1", "--set optimizer=1: optimizer must be one of sgd, adam$"),
        ("train_fraction=0", r"train_fraction must be a number in \(0, 1\]$"),
        ("task=mnist", "task cannot be overridden: the task is chosen with --task"),
        ("n_features=3", "n_features cannot be overridden: the task sets it"),
        ("lr=0.1", "--set lr=0.1: unknown spec field 'lr'; valid: hidden, activation"),
        ("=3", "--set expects FIELD=VALUE, got '=3'"),
    ],
)
def test_a_bad_set_names_the_field_the_value_and_what_is_valid(item: str, message: str) -> None:
    with pytest.raises(suites.SuiteError, match=message):
        overrides.parse_set([item])


def test_conflicting_overrides_say_which_wins() -> None:
    assert overrides.conflicts(["epochs=5"], 7) == [
        "--epochs 7 and --set epochs=5 both set the epochs: --epochs 7 wins"
    ]
    assert overrides.conflicts(["epochs=5", "hidden=[]", "epochs=6"], None) == [
        "--set epochs is given 2 times (5, 6): the last, epochs=6, wins"
    ]
    assert overrides.conflicts(["epochs=5"], None) == [] and overrides.conflicts([], 7) == []
    plan = suites.plan_for(_args(task=["iris"], impl=["numpy"], set=["epochs=5"], epochs=7))
    assert plan.requests[0].spec.epochs == 7


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        (dict(mode=["turbo"]), "--mode turbo: no implementation has mode 'turbo'; valid: compile, default, "),
        (dict(impl=["keras"], mode=["scan"]), "--mode scan: keras has no mode 'scan'; its modes: default, "),
        (dict(impl=["jax", "torch"], mode=["scan"]), "--mode scan: torch has no mode 'scan'"),
        (dict(suite="ab", mode=["turbo"]), "--mode turbo: no implementation has mode 'turbo'"),
        (
            dict(task=["iris"], timeout=float("nan")),
            "--timeout nan: the timeout must be a number of seconds > 0",
        ),
        (dict(task=["iris"], epochs_per_round=0), "--epochs-per-round 0: must be a positive integer"),
        (dict(task=["iris"], twin="mxnet"), "--twin mxnet: unknown implementation 'mxnet'"),
        (dict(task=["iris"], seeds=[2**32]), "--seeds 4294967296: seeds must be >= 0 and <= 4294967295"),
        (
            dict(suite="smoke", device=["gpu"]),
            "matches no run of suite 'smoke', which runs tasks digits, iris; ",
        ),
    ],
)
def test_a_selection_is_checked_naming_the_option(kw: dict, message: str) -> None:
    with pytest.raises(UsageError) as info:
        suites.plan_for(_args(**kw))
    assert message in str(info.value)


def test_a_mode_asked_for_without_implementations_narrows_to_those_that_have_it() -> None:
    """`--mode scan` alone is jax's scan; a `*` in a suite still expands to each implementation's
    own modes, and a declared mode a backend cannot run is kept (recorded unavailable)."""
    requests = suites.plan_for(_args(task=["iris"], mode=["scan"])).requests
    assert {(r.impl, r.mode) for r in requests} == {("jax", "scan")}
    ab = suites.plan_for(_args(suite="ab", mode=["same-batches"])).requests
    assert {(r.impl, r.mode) for r in ab} == {("keras", "same-batches")}
    fast = suites.plan_for(_args(task=["iris"], impl=["keras-torch"], mode=["fast"])).requests
    assert [r.mode for r in fast] == ["fast"]


def test_a_tables_purpose_reaches_its_records_and_a_bad_one_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "points.toml"
    path.write_text('purpose = "step model"\n[[runs]]\ntasks = ["iris"]\nimpls = ["torch"]\n')
    (request,) = suites.plan_for(_args(suite=str(path))).requests
    assert request.purpose == STEP_MODEL_POINT and request.to_dict()["purpose"] == STEP_MODEL_POINT
    assert new_record(request.identity(None)).purpose == STEP_MODEL_POINT
    assert "purpose" not in RunRequest("iris", "torch").to_dict()  # what an older checkout reads
    path.write_text('[[runs]]\ntasks = ["iris"]\npurpose = "costs"\n')
    with pytest.raises(suites.SuiteError, match=r"purpose.*'costs'.*\"step model\""):
        suites.plan_for(_args(suite=str(path)))


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ("specs = []", "specs = []: expected a list of spec tables"),
        ('specs = [{ hidden = "x" }]', "[[runs]] #1 specs #1: spec.hidden = 'x': hidden must be a list"),
        ("specs = [{ widht = 3 }]", "specs #1: spec.widht = 3: unknown spec field 'widht'; valid: hidden"),
    ],
)
def test_a_bad_specs_list_names_its_table_and_entry(table: str, message: str, tmp_path: Path) -> None:
    path = tmp_path / "specs.toml"
    path.write_text(f'[[runs]]\ntasks = ["iris"]\n{table}\n')
    with pytest.raises(suites.SuiteError) as info:
        suites.plan_for(_args(suite=str(path)))
    assert message in str(info.value)


def test_specs_are_one_more_axis_of_a_tables_product(tmp_path: Path) -> None:
    path = tmp_path / "specs.toml"
    path.write_text(
        '[[runs]]\ntasks = ["iris"]\nimpls = ["torch", "jax"]\nspec = { epochs = 4 }\n'
        "specs = [{ hidden = [8] }, { hidden = [16, 16], epochs = 5 }]\n"
    )
    plan = suites.plan_for(_args(suite=str(path)))
    got = sorted(
        (r.impl, tuple(r.overrides["hidden"]), r.overrides["epochs"]) for r in plan.requests if not r.twin
    )
    assert got == [("jax", (8,), 4), ("jax", (16, 16), 5), ("torch", (8,), 4), ("torch", (16, 16), 5)]
    assert len(plan.tiers) == 1  # one table: a budget keeps both networks or neither
