"""The NumPy training core: data, models, losses, optimizers and training sessions.

NumPy only: this package never imports FastAPI, pydantic or plotly (a test enforces it).
"""
