"""Helpers shared by the tests: paths, the fake embedder, corpus copies, the app under test,
hostile files, a local report server, and the `ask` JSON contract."""
