"""Face recognizer: embedding backbones, margin heads, training, and verification metrics.

It measures what the generated variants add, and its embeddings drive the
editor's identity loss.
"""
