"""Write side: small functions that add and flush; the caller (view, CLI, job) commits."""
