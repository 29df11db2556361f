"""The judges: models that score generated faces and never enter a training loss."""
