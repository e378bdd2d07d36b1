"""shapespace: a probabilistic latent space of 3D shapes (3D-GAN / 3D-VAE-GAN, Wu et al. 2016)."""

__version__ = "0.1.0"
