"""facegan: identity-preserving face synthesis for low-shot face recognition."""

__version__ = "0.1.0"
