"""Using the trained model: one end-to-end model of pixels, its exported formats and their measured parity,
the model card, and `imgclf predict` on new pictures."""
