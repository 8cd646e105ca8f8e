"""The embedding cache: the frozen ImageNet backbones, their pixel scaling and weights, featurize and its manifest."""
