"""Training workflows: sft / pt and, later, each alignment algorithm."""
