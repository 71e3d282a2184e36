"""The case aggregate and the one command path every change to a case takes (docs/architecture.md)."""
