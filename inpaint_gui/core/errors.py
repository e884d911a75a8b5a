"""User-facing errors.

Every problem the user can cause or fix (a bad file, a wrong mask, missing weights, no GPU)
raises a subclass of :class:`InpaintError` whose message is one clear line. The CLI prints
it and exits with code 2; the GUI shows it in a dialog. Anything else is a bug.
"""


class InpaintError(Exception):
    """A problem the user can fix; ``str(err)`` is a one-line message for them."""


class ImageIOError(InpaintError):
    """A photo or mask could not be read or written."""


class MaskError(InpaintError):
    """The mask does not fit the photo or leaves nothing to work with."""


class WeightsError(InpaintError):
    """A model could not be found, verified or loaded."""


class DeviceError(InpaintError):
    """The requested compute device is not available."""


class DisplayError(InpaintError):
    """The window cannot open: no display, or system libraries Qt needs are missing."""
