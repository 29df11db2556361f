"""Shared GAN pieces below the editor and the translator: adversarial losses and image grids."""
