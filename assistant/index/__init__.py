"""Reports to an index: chunks, vectors, keyword terms, written as one generation on disk and read back."""
