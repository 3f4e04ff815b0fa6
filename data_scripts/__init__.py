"""Scripts that build the offline corpora and task sets, each run as ``python -m data_scripts.<name>``."""
