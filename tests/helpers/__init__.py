"""Test helpers shared by several test modules (fake hub servers and the like)."""
