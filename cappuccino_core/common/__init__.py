"""Small helpers shared by every layer of the core (no project imports: anything may depend on them)."""
