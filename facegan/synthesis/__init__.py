"""Synthesis: identity-preserving variants of real faces, kept only where the judges agree."""
