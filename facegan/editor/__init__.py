"""The attribute editor GAN: one conditional generator for eyeglasses, smiling, young and yaw."""
