"""Code to take away: a session's config as standalone NumPy, PyTorch or Keras (see
``service.code``). ``recipe`` turns the session into plain numbers and the list of what
no snippet can express; one module per language writes the code."""
