"""Small helpers shared by every layer of the core (no imports from the rest of the package)."""
