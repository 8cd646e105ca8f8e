"""Networks trained from scratch on small images. Keras 3 layers and ops only.

Each ``build_*`` takes the input side in pixels and returns a ``keras.Model``
from (N, H, W, 3) images scaled to [-1, 1] to a pooled feature vector;
``classifier.py`` wraps it with in-model augmentation and a classifier.
"""

# Moving-statistics momentum of every BatchNormalization layer: PyTorch's default
# (0.1 there, 0.9 here), which the published CIFAR recipes used. Keras' 0.99
# needs hundreds of steps before inference-mode statistics are usable, so a
# short run on a small dataset would validate on near-initial statistics.
BN_MOMENTUM = 0.9
