"""Data: decode, align, split and index a face source into the prepared store (data/prepared/)."""
