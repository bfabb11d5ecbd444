"""Jobs: long-running work started by the CLI (or a worker). Jobs commit."""
