"""Code to take away: the session's config as standalone NumPy, PyTorch or Keras.

The code runs the config the session was created with (not its live changes) on the
data as the server holds it, from the server's theta_0: the NumPy and PyTorch
snippets retrace the server's steps (same mini-batch order, the loss from logits,
torch.optim's rules), Keras shows ``compile`` / ``fit``. What a snippet cannot express
(a schedule, clipping, live changes, held-out rows) is named in its opening comment
and in ``omits``, and then ``exact`` is false. REST and the CLI both call ``code``.
"""

from __future__ import annotations

from typing import Any

from gradscape.service.codegen import keras_code, numpy_code, torch_code
from gradscape.service.codegen.recipe import MAX_EPOCHS, make_recipe
from gradscape.service.errors import PayloadTooLargeError
from gradscape.service.live import LiveRun

LANGUAGES = ("numpy", "pytorch", "keras")
__all__ = ["LANGUAGES", "MAX_EPOCHS", "code"]


def code(run: LiveRun, language: str = "numpy", epochs: int | None = None) -> dict[str, Any]:
    """``{language, code, filename, epochs, exact, omits, notes}`` for the run's config.

    ``epochs`` defaults to the epochs the session has completed (steps for a surface),
    at least 1. An unknown language or a surface in Keras is a ``ValueError``; data too
    big to embed (over ``max_response_floats`` numbers) a ``PayloadTooLargeError``.
    """
    if language not in LANGUAGES:
        raise ValueError(f"language: must be one of {', '.join(LANGUAGES)}, got {language!r}")
    session = run.session
    ds = session.dataset
    numbers = session.model.n_params
    if ds is not None:
        numbers += ds.X.size + ds.y.size
    top = run.budgets.max_response_floats
    if numbers > top:
        raise PayloadTooLargeError(
            f"the code would embed {numbers} numbers (data and start weights), over "
            f"max_response_floats={top}"
        )
    recipe = make_recipe(session, epochs)
    omits = list(recipe.omits)
    if language == "numpy":
        text, notes = numpy_code.render(recipe)
        exact = not omits
    elif language == "pytorch":
        text, notes = torch_code.render(recipe)
        exact = not omits
    else:
        text, notes, extra = keras_code.render(recipe)
        omits += extra
        exact = False  # Keras shuffles its own way and computes some updates differently
    suffix = "" if language == "numpy" else f"_{language}"
    return {
        "language": language,
        "code": text,
        "filename": f"gradscape_{recipe.stem}{suffix}.py",
        "epochs": recipe.epochs,
        "exact": exact,
        "omits": omits,
        "notes": notes,
    }
