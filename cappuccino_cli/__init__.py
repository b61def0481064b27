"""The `cappuccino` command line."""
