"""The page"s words, each said once for someone who has not read the docs. The page links every
term"s first use to its entry here (:func:`harness.report.render.page.link_terms`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from harness.report.data import ReportData


@dataclass(frozen=True)
class Term:
    """A glossary entry: its anchor, its name, the phrases that use it on the page, and what it means."""

    slug: str
    name: str
    phrases: tuple[str, ...]
    meaning: str

    @property
    def anchor(self) -> str:
        return f"g-{self.slug}"


TERMS = (
    Term(
        "step",
        "time per step",
        ("time per step", "per step"),
        "One optimizer update on one batch. Its time is a steady epoch's time, less its epoch overhead,"
        " divided by the epoch's number of steps; the figure shown is the median over every steady "
        "epoch of every seed.",
    ),
    Term(
        "steady-epoch",
        "steady epoch",
        ("steady epoch", "steady-state"),
        "Every epoch after the first: the first includes tracing and compilation and is reported apart.",
    ),
    Term(
        "epoch-overhead",
        "epoch overhead",
        ("epoch overhead", "per epoch"),
        "What a training loop does at the start of each epoch before its first step: Keras makes a new "
        "data iterator, Lightning runs its loop's epoch start; a plain loop does next to nothing. Shown"
        " apart from the time per step, because it is paid once per epoch, whatever the number of "
        "steps. A run's figure is its usual setup: the median, or of two epochs the smaller; a setup "
        "beyond twice that plus 20 ms is a stall, named in its task's section.",
    ),
    Term(
        "as-written",
        "as users write it",
        ("as users write it", "as its users write it"),
        "Each framework's default mode: the code its users normally write. Other modes are fast paths.",
    ),
    Term(
        "fast-path",
        "fast path (mode)",
        ("fast path", "fast-path", "execution mode"),
        "A faster way the same framework can run the same training: a compiled step (XLA, "
        "torch.compile), a whole epoch per call (jax scan, tensorflow epoch-function, Keras fast), "
        "fused optimizer kernels (fused). Keras' same-batches mode feeds Keras the harness's batches "
        "instead of its own shuffling.",
    ),
    Term(
        "style",
        "low-level and high-level style",
        ("low-level", "high-level"),
        "Low-level: tensors, automatic gradients and a loop you write (PyTorch, TensorFlow's "
        "GradientTape, JAX's grad). High-level: a stack of layers trained with fit (Keras, PyTorch "
        "Lightning; Flax NNX).",
    ),
    Term(
        "aa",
        "A/A band",
        ("A/A",),
        "Every group of runs carries an identical copy (a twin) of one of its runs. Their ratio shows "
        "how much identical code differs from itself here; the A/A band is that range. A ratio inside "
        "it is a tie.",
    ),
    Term(
        "tie",
        "tie",
        ("tie", "cannot be told apart"),
        "Two figures whose ratio lies inside the A/A band, or whose 95% interval includes 1: no "
        "difference is claimed.",
    ),
    Term(
        "paired",
        "paired ratio",
        ("paired", "interleaved"),
        "Runs that are compared train in rounds: each run trains an epoch, in a fresh random order each"
        " round, so the machine's drift falls on all alike. A paired ratio is the median of the per-"
        "round ratios, with a 95% interval over seeds and rounds. Unpaired: a ratio of medians taken at"
        " different times.",
    ),
    Term(
        "target",
        "time to target",
        ("to target", "time to target"),
        "Training time, in whole epochs (their overhead included), until validation accuracy first "
        "reaches the task's target; the median over the seeds that reached it. It rewards fewer epochs "
        "as well as faster steps, so it can rank differently from the time per step.",
    ),
    Term(
        "ci",
        "95% interval (CI)",
        ("95% interval", "95% CI", "CI"),
        "The range the true figure lies in with 95% confidence: a bootstrap over seeds, then rounds, "
        "for times; a Student-t interval over seeds for accuracy.",
    ),
    Term(
        "pp",
        "pp",
        ("pp",),
        "Percentage points: 96.1% to 97.3% is +1.2 pp.",
    ),
    Term(
        "run-set",
        "run set",
        ("run set",),
        "The records the tables answer for: each machine's newest commit, unless the report was asked "
        "for another.",
    ),
    Term(
        "peak",
        "of matmul peak",
        ("matmul peak",),
        "Training FLOP/s as a share of the fastest dense float32 matrix multiply measured on the same "
        "device: how much of the machine a step uses.",
    ),
    Term(
        "break-even",
        "break-even",
        ("break-even",),
        "How many training steps a fast path needs before its one-off compile cost is repaid by faster "
        "steps.",
    ),
    Term(
        "onset",
        "overfitting onset",
        ("onset",),
        "The last epoch at the validation-loss minimum before validation loss stays above it while "
        "training loss still falls. Overfitting is claimed only with two seeds or more and an onset in "
        "at least half the runs.",
    ),
)


PART = "glossary"  # its template: harness/report/render/templates/parts/glossary.html.j2


def build(data: ReportData) -> dict[str, Any]:
    """The section"s view: the glossary"s entries."""
    return {"glossary": list(TERMS)}
