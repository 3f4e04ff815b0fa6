"""Token tagging (POS, BIO named entities): each word tagged from its first sub-token."""
