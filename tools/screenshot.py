"""Make ``resources/screenshot.png``: the main window in the middle of a latent search.

Runs headless (Qt's offscreen platform): opens the sample photo with the shipped model,
loads its sample hole (or marks a central block), starts the search and grabs the window once the search is
about a third of the way through.

    python tools/screenshot.py [--model NAME] [--photo PATH] [--mask PATH] [--out PATH] [--progress 0.35]

The app's own default settings (the framing search, the model chosen by the window) unless
--iterations / --restarts override them.

Exits with code 0 and a note, writing nothing, when the model or the sample is missing.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=None, help="model name or folder (default: the shipped model)")
    ap.add_argument("--photo", default=None, help="photo (default: the bundled sample)")
    ap.add_argument("--mask", default=None, help="mask (default: the sample's own, else a central block)")
    ap.add_argument("--out", default=str(ROOT / "resources" / "screenshot.png"))
    ap.add_argument("--progress", type=float, default=0.35, help="grab when this share of iterations is done")
    ap.add_argument("--iterations", type=int, default=None, help="override the app's default")
    ap.add_argument("--restarts", type=int, default=None, help="override the app's default")
    ap.add_argument("--size", default="1440x900", help="window size WxH")
    args = ap.parse_args(argv)

    from PySide6.QtCore import QCoreApplication, QSettings
    from PySide6.QtWidgets import QApplication

    from inpaint_gui.core.engines.gan.weights import default_model_name, load_model
    from inpaint_gui.core.errors import InpaintError
    from inpaint_gui.gui.app import apply_style
    from inpaint_gui.gui.files import sample_mask_path, sample_photo_path
    from inpaint_gui.gui.main_window import MainWindow

    photo = Path(args.photo) if args.photo else sample_photo_path()
    if photo is None or not photo.is_file():
        print("screenshot: no sample photo in resources/; skipped")
        return 0
    try:
        model = load_model(args.model or default_model_name())
    except InpaintError as exc:
        print(f"screenshot: no model ({exc}); skipped")
        return 0

    QCoreApplication.setOrganizationName("inpaint-gui-screenshot")
    app = QApplication.instance() or QApplication([])
    apply_style(app)
    settings_file = Path(os.environ.get("TMPDIR", "/tmp")) / f"inpaint-gui-screenshot-{os.getpid()}.ini"
    qs = QSettings(str(settings_file), QSettings.Format.IniFormat)
    w = MainWindow(model=model, qsettings=qs)
    width, height = (int(v) for v in args.size.lower().split("x"))
    w.resize(width, height)
    w.show()

    def pump(until, timeout: float) -> bool:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            app.processEvents()
            if until():
                return True
            time.sleep(0.01)
        return False

    try:
        if not pump(lambda: w.session.model is not None, 60):
            print("screenshot: the model did not load")
            return 1
        outcome: list = []
        w.files.done.connect(lambda kind, ok: outcome.append(ok))
        if not w.open_photo(photo) or not pump(lambda: bool(outcome), 60) or not outcome[-1]:
            print(f"screenshot: cannot open {photo}")
            return 1
        doc = w.doc
        mask_file = Path(args.mask) if args.mask else (sample_mask_path(photo) if not args.photo else None)
        if mask_file is not None:
            outcome.clear()
            if not w.files.load_mask(mask_file) or not pump(lambda: bool(outcome), 60) or not outcome[-1]:
                print(f"screenshot: cannot load {mask_file}")
                return 1
        else:  # the paper's central block, a quarter of the short side
            h, wd = doc.height, doc.width
            side = min(h, wd) // 4
            mask = doc.mask.copy()
            mask[h // 2 - side // 2 : h // 2 + side // 2, wd // 2 - side // 2 : wd // 2 + side // 2] = True
            doc.set_mask(mask, "Central block")
        w.session.auto_window()
        s = w.store.settings
        overrides = {k: v for k, v in (("iterations", args.iterations), ("restarts", args.restarts)) if v is not None}
        if overrides:
            w.store.set(replace(s, engines={**s.engines, "face": replace(s.of("face"), **overrides)}))
        iterations = w.store.settings.of("face").iterations
        pump(lambda: not w.session.planning and w.canvas.frame is not None, 60)
        w.session.inpaint()
        w.canvas.zoom_to_window()
        target = int(iterations * args.progress)
        done = pump(
            lambda: (
                not w.session.busy or (w.session.last_update is not None and w.session.last_update.iteration >= target)
            ),
            600,
        )
        pump(lambda: False, 0.3)  # let the last preview paint
        if not done:
            print("screenshot: the search did not get far enough in time; grabbing anyway")
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        w.grab().save(str(out))
        p = w.session.last_update
        print(f"screenshot: wrote {out} at iteration {p.iteration if p else 0}/{p.iterations if p else iterations}")
        w.session.cancel()
        pump(lambda: not w.session.running, 30)
        return 0
    finally:
        w.close()
        w.shutdown()
        with contextlib.suppress(OSError):
            settings_file.unlink()


if __name__ == "__main__":
    sys.exit(main())
