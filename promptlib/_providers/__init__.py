"""Turning a Prompt into provider requests."""
