"""Reproducible image-classifier pipeline: fetch, split, featurize, train, evaluate.

Importing the package is cheap: nothing here imports Keras, so the data stages
start in well under a second.
"""

__version__ = "0.1.0"
