"""Thermal -> visible face translation (TV-GAN): pix2pix U-Net + PatchGAN, L1, recognizer
identity loss, optional CycleGAN cycle; training, evaluation on novel identities, public API
in `facegan.translator.translate`."""
