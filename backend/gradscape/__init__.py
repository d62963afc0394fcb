"""gradscape: watch gradient descent and backpropagation work."""

__version__ = "0.1.0"
