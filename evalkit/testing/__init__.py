"""Test helpers that stay on the machine: a scripted OpenAI-compatible server plays providers."""
