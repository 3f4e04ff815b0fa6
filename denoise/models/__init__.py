"""Models: one Encoder class, BERT and encoder-decoder models built on it."""
