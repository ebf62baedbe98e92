"""Files to reports: opening a PDF, its layout, judgements and metadata, and the corpus folder's own files."""
