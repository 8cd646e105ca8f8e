"""The models `train` can train: one module per model (its params section and its Keras builder), the registry
that names them, and the layers they share. Keras is imported inside the builders, so params validation,
which reads the sections, stays free of its seconds-long import."""

# Moving-statistics momentum of every BatchNormalization layer: PyTorch's default
# (0.1 there, 0.9 here), which the published CIFAR recipes used. Keras' 0.99
# needs hundreds of steps before inference-mode statistics are usable, so a
# short run on a small dataset would validate on near-initial statistics.
BN_MOMENTUM = 0.9
