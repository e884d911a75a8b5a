"""Pure compute: models, latent search, Poisson blending, image IO, the pipeline.

Nothing under ``inpaint_gui.core`` imports Qt or ``inpaint_gui.gui`` (a test enforces it).
Data conventions used throughout:

- ``image``: numpy uint8 (H, W, 3) RGB. Alpha, if any, travels beside it.
- ``mask``: numpy bool (H, W), True where pixels are missing (the hole). The paper's M is ``~mask``.
- model tensors: float32 (N, 3, S, S) in [-1, 1]; latent ``z``: (N, nz).
- windows: ``(x, y, size)`` in full-resolution pixel coordinates, always square.
"""
