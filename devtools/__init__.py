"""Developer tools: the test sandbox, test peers and the local demo (not shipped)."""
