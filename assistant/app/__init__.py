"""The browser app: the shared service, the Gradio UI, what it renders and the files it exports."""

import os

# Before any module here imports gradio, which reads this at import time: no usage reports leave the machine.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

PRIVATE = "private"  # the api_visibility of UI-only events: not callable through the API clients
