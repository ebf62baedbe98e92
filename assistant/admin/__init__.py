"""Changes to the library: uploads, corrections, deletes, fetching from links, re-indexing, watching, the audit log."""
