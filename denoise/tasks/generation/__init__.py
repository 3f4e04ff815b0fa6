"""Generation (translation, summarization): an encoder-decoder writes the target from the source."""
