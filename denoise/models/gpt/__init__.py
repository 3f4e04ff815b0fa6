"""GPT: a decoder-only Transformer that predicts the next token (Radford et al., 2018 and 2019), run as a
causal language model or, with a bidirectional prefix, as a prefix LM (Raffel et al., 2020; Tay et al., 2023)."""
