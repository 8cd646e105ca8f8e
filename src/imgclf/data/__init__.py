"""Getting images in: the sources (digits, CIFAR, your folders), archives, downloads, decoding, the uint8
array layout on disk, and seeded stratified splits."""
