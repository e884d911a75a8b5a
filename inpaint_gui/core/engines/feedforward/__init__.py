"""The papers' feed-forward inpainting networks: one pass from a corrupted 128x128 window to a fill.

- ``ce``: the Context Encoder (Pathak et al. 2016, the tutorial design): an encoder-decoder from
  the window with the hole blanked to the missing 64x64 block, trained with L1 + a least-squares
  adversarial term against a patch discriminator on the block.
- ``pggan``: PGGAN (Demir & Unal 2018): a fully convolutional generator of dilated residual blocks
  that fills any hole of the window, trained with L1 + global and PatchGAN adversarial terms from
  one discriminator with shared early layers.

``weights`` loads and saves them as verified model folders; ``fill`` runs one on a window.
Importing this package loads no torch.
"""
