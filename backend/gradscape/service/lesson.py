"""The guided lesson: the chapter's ideas in its order, each a stop on a live run.

A stop is data. ``config`` is an ordinary session config (the page creates the run with
``POST /api/sessions`` like any other), ``view`` names the card or tab that shows the idea,
``text`` says in two or three sentences what to look at, ``question`` asks for a prediction
with one-click ``choices``, and ``run`` says how far to train before answering. ``kind``
names how the page reads the answer from the run's own numbers (its loss series, status,
gradient norms, update, backprop trace or curvature): the answer is never written here.
``options`` tunes that reading (a share of the loss, a threshold, extra evidence).
"""

from __future__ import annotations

import copy
from typing import Any

#: How each kind of answer is read from the run, and the choices it can give.
KINDS: dict[str, tuple[str, ...]] = {
    # the loss over the run: fell steadily, went up and down, or climbed / went non-finite
    "trend": ("down", "bounce", "blowup"),
    # a weight's value at the end of the run against its start (the trajectory's params)
    "direction": ("up", "down"),
    # the first update of a weight: its sign from GET .../update (before, grad, after)
    "step": ("up", "down"),
    # the share of the starting loss gone by the end: at least options.share, or less
    "progress": ("most", "some"),
    # the loss after one update against the loss before it
    "first_step": ("lower", "higher"),
    # the first gradient of the first weight through the chain rule, against options.tiny
    "chain": ("tiny", "sizeable"),
    # the mean gradient norm of the last layer against the first (vanishing / exploding)
    "layers": ("last", "first"),
    # did the full-data loss fall at every step, or rise at some
    "noise": ("every", "some"),
    # the accuracy at the end: every sample right, or not
    "accuracy": ("all", "not_all"),
    # whose |pred - y| is the largest at the first update: a sample labelled 1 or 0
    "largest_error": ("passed", "failed"),
    # updates per epoch, counted from the run's step and epoch after `run.epochs`
    "per_epoch": ("1", "2", "4"),
}

#: The page's cards and tabs a stop may point at (frontend/layout.js builds them).
VIEWS = (
    "surface",
    "contour",
    "losscurve",
    "norms",
    "data",
    "update",
    "backprop",
    "epochs",
    "curvature",
    "compare",
    "export",
)

TREND = {
    "down": "Go down",
    "bounce": "Bounce up and down",
    "blowup": "Blow up (climb)",
}

STOPS: list[dict[str, Any]] = [
    {
        "idea": "Loss: how wrong, as one number",
        "config": {"preset": "pass-fail"},
        "view": "losscurve",
        "text": "A loss function turns all the predictions and true answers into one number: "
        "lower is better, zero is perfect. This neuron predicts a probability, so it is scored "
        "with cross-entropy (bce), the partner of its sigmoid output; mean squared error (mse) "
        "is meant for predicting numbers. The Loss chart plots that one number after each update.",
        "question": "Train 200 updates with cross-entropy. Will the loss go down, bounce, or "
        "blow up?",
        "kind": "trend",
        "choices": TREND,
        "run": {"steps": 200},
        "try": "Try it with mse on the same output (Model: loss), then press Run again.",
    },
    {
        "idea": "The loss landscape",
        "config": {"preset": "line"},
        "view": "surface",
        "text": "Picture the loss as ground: where you stand is the weights, the height is the "
        "loss. This linear regression has just two weights, w_x and the bias, so the 3-D surface "
        "is the whole landscape, an exact bowl, and the dot is where you stand. A real network "
        "has millions of weights: you only feel the slope under your feet.",
        "question": "Find the dot and the bottom of the bowl. Over 50 updates, will the weight "
        "w_x grow or shrink?",
        "kind": "direction",
        "choices": {"up": "w_x grows", "down": "w_x shrinks"},
        "run": {"steps": 50},
        "options": {"param": 0},
    },
    {
        "idea": "The gradient and the step",
        "config": {"preset": "pass-fail"},
        "view": "update",
        "text": "The gradient is the slope under your feet and points uphill, so the update "
        "steps the other way: new_weight = old_weight − learning_rate × gradient. The update "
        "card lays it out per weight: the weight before, its gradient, −lr × gradient and the "
        "weight after.",
        "question": "Take one update. Will the weight w_study go up or down?",
        "kind": "step",
        "choices": {"up": "Up", "down": "Down"},
        "run": {"steps": 1},
        "options": {"param": 0},
    },
    {
        "idea": "Learning rate too small",
        "config": {"preset": "crawl"},
        "view": "losscurve",
        "text": "The learning rate sets the size of each step. Here it is far too small for "
        "this bowl: each step points the right way but barely moves, so training crawls. "
        "The Loss chart shows how far 100 updates get.",
        "question": "After 100 updates, will 90% or more of the starting loss be gone?",
        "kind": "progress",
        "choices": {"most": "Yes, 90% or more", "some": "No, less than 90%"},
        "run": {"steps": 100},
        "options": {"share": 0.9},
        "try": "Drag the learning rate up while it runs and watch the curve bend.",
    },
    {
        "idea": "Learning rate too big: the 2 / λmax edge",
        "config": {"preset": "overshoot"},
        "view": "curvature",
        "text": "Too big a step overshoots the valley and lands on the far side. For plain "
        "gradient descent the edge is exact: steps stay stable while the learning rate is below "
        "2 / λmax, where λmax is the loss's sharpest curvature; the Curvature tab measures it "
        "on this run.",
        "question": "Compare the learning rate (under Training) with 2 / λmax, then predict: "
        "over 40 updates, will the loss go down, bounce, or blow up?",
        "kind": "trend",
        "choices": TREND,
        "run": {"steps": 40},
        "options": {"evidence": "curvature"},
        "try": "Set the learning rate just below the edge the Curvature tab gives.",
    },
    {
        "idea": "Forward, backward, update",
        "config": {"preset": "pass-fail"},
        "view": "backprop",
        "text": "One update has three parts. The forward pass runs the four students through "
        "the neuron, keeping z and the sigmoid's output a, and ends in the loss; the backward "
        "pass carries the loss's slope back to every weight; the update moves each weight "
        "against its gradient. The Backprop tab lays out all three for one step.",
        "question": "After one forward pass, backward pass and update, will the loss on the "
        "four students be lower or higher?",
        "kind": "first_step",
        "choices": {"lower": "Lower", "higher": "Higher"},
        "run": {"steps": 1},
    },
    {
        "idea": "The chain rule on real numbers",
        "config": {
            "preset": "pass-fail",
            "loss": "mse",
            "model": {"output": "sigmoid"},
            "init_params": [2.0, 2.0, 0.0],
        },
        "view": "backprop",
        "text": "The chain rule multiplies local slopes: dL/dw = dL/da × da/dz × dz/dw. Scored "
        "with MSE, the sigmoid's slope da/dz stays in that product. This neuron starts from "
        "large weights (2, 2), so z is 10 or more for every student and the sigmoid is flat "
        "there.",
        "question": "Two students who failed are predicted to pass with near certainty, so "
        "dL/da is large for them. Will the first gradient for w_study be tiny (under 0.001) or "
        "sizeable?",
        "kind": "chain",
        "choices": {"tiny": "Tiny, under 0.001", "sizeable": "Sizeable, 0.001 or more"},
        "run": {"steps": 1},
        "options": {"tiny": 0.001, "param": 0},
    },
    {
        "idea": "Vanishing and exploding gradients",
        "config": {"preset": "vanishing"},
        "view": "norms",
        "text": "The backward pass multiplies the activations' slopes layer after layer. A "
        "sigmoid's slope is at most 0.25, so through six sigmoid layers the signal can shrink "
        "thousands of times before it reaches the first layer: the vanishing gradient. Large "
        "slopes or weights make it grow instead: the exploding gradient.",
        "question": "Over 20 updates, which layer gets the larger gradient: the last (next to "
        "the loss) or the first (next to the input)?",
        "kind": "layers",
        "choices": {"last": "The last layer", "first": "The first layer"},
        "run": {"steps": 20},
        "try": "Switch the activation to tanh or relu (Model) and compare the bars.",
    },
    {
        "idea": "Batch, stochastic and mini-batch; the epoch",
        "config": {"preset": "minibatch-noise"},
        "view": "losscurve",
        "text": "How much data each update sees is a choice. Full batch uses every row for one "
        "accurate, slow step; stochastic (batch size 1) updates after each row, fast and noisy; "
        "mini-batches sit between, and one pass over all of them is an epoch. This run takes "
        "batches of 4 from 100 noisy points.",
        "question": "Over 100 updates, will the loss on all the data fall at every step, or "
        "rise at some?",
        "kind": "noise",
        "choices": {"every": "Fall at every step", "some": "Rise at some steps"},
        "run": {"steps": 100},
        "try": "Tick full batch (Training) and run it again.",
    },
    {
        "idea": "The chapter's neuron, exactly",
        "config": {"preset": "pass-fail"},
        "view": "epochs",
        "text": "This is the chapter's code as a live run: the same four students, the start "
        "weights of np.random.seed(42), lr 0.1 and 2000 epochs of full-batch gradient descent. "
        "One sigmoid neuron trained with cross-entropy is logistic regression. The Epochs tab "
        "fills the chapter's printed loss table from this run.",
        "question": "After 2000 epochs, will the neuron classify all four students correctly?",
        "kind": "accuracy",
        "choices": {"all": "Yes, all four", "not_all": "No, at least one is wrong"},
        "run": {"steps": 2000},
    },
    {
        "idea": "error = pred − y",
        "config": {"preset": "pass-fail"},
        "view": "backprop",
        "text": "With a sigmoid output scored by cross-entropy, the gradient at the output "
        "simplifies to error = pred − y: how far each prediction is from its label, with a "
        "sign. The larger a student's error, the harder that student pulls on the weights; the "
        "Backprop tab lists each student's pred, y and error.",
        "question": "At the chapter's starting weights, whose error is largest: a student who "
        "passed, or one who failed?",
        "kind": "largest_error",
        "choices": {"passed": "A student who passed", "failed": "A student who failed"},
        "run": {"steps": 1},
    },
    {
        "idea": "fit(epochs, batch_size)",
        "config": {"preset": "pass-fail", "batch_size": 2},
        "view": "epochs",
        "text": "Keras hides the whole loop in model.fit(X, y, epochs=2000, batch_size=2): for "
        "each epoch and each mini-batch it runs the forward pass, the loss, backpropagation and "
        "the optimizer's update. An epoch is one pass over the data, so the batch size decides "
        "how many updates it holds. This run uses the chapter's batch_size=2.",
        "question": "Run 10 epochs on the four students. How many updates does one epoch take?",
        "kind": "per_epoch",
        "choices": {"1": "One", "2": "Two", "4": "Four"},
        "run": {"epochs": 10},
    },
    {
        "idea": "Linear and logistic regression: the same descent",
        "config": {
            "data": {"name": "moons", "n_samples": 100, "noise": 0.1},
            "model": {"hidden": []},
            "loss": "bce",
        },
        "view": "data",
        "text": "Gradient descent is not only for networks. Linear regression (identity output, "
        "MSE) and logistic regression (sigmoid output, cross-entropy, like the chapter's "
        "neuron) are one layer of weights moved by the same w ← w − lr × gradient. Here "
        "logistic regression meets two interleaved moons, and its boundary is a straight line.",
        "question": "After 300 updates, will logistic regression classify every point correctly?",
        "kind": "accuracy",
        "choices": {"all": "Yes, every point", "not_all": "No, some are wrong"},
        "run": {"steps": 300},
        "try": "Add a hidden layer (Model) and it is a network: run it again.",
    },
    {
        "idea": "The optimizers that come next",
        "config": {"preset": "rosenbrock"},
        "view": "contour",
        "text": "Plain gradient descent is slow and touchy about its learning rate, so in "
        "practice optimizers adapt the step for you. In Rosenbrock's long curved valley the "
        "steepest way down points across the floor, not along it; momentum (0.9 here) builds "
        "speed along it. The optimizer picker shows each one's update rule.",
        "question": "After 500 updates with momentum, will 99% or more of the starting loss be "
        "gone?",
        "kind": "progress",
        "choices": {"most": "Yes, 99% or more", "some": "No, less than 99%"},
        "run": {"steps": 500},
        "options": {"share": 0.99},
        "try": "Set momentum to 0, or pick adam, and run it again.",
    },
]


def lesson_stops() -> list[dict[str, Any]]:
    """A deep copy of the stops, numbered from 1 as the page's ``#lesson=N`` links count."""
    return [{"number": k, **copy.deepcopy(stop)} for k, stop in enumerate(STOPS, start=1)]
