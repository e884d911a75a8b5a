"""The face engine's run: the latent search in a window or over framings, and the low band.

The window(s) are area-resized to the model's resolution and the latent search optimises K
restarts per window; every surviving restart's G(z) is a candidate (a framing search keeps the
best framings' restarts). A window planned with a low band (``twoband.py``) gets it after the
search: the candidates' low band is replaced by the base model's search of the same windows.
``Step.info`` carries what reports need: the model, the window, the losses and ``fit`` (the
best contextual loss per unit of weight, in grey levels: how well a face prior fits the context
at all), and for a framing search every framing tried with its normalised loss.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import replace

import numpy as np

from inpaint_gui.core.engines.base import Candidate, Fill, Region, Step
from inpaint_gui.core.engines.gan.framing import GREY_LEVELS, Frame, FramingResult, Problem, framing_search
from inpaint_gui.core.engines.gan.network import network_fill, network_low_band
from inpaint_gui.core.engines.gan.planning import FacePlan
from inpaint_gui.core.engines.gan.resample import from_model, to_model
from inpaint_gui.core.engines.gan.search import context_weights, latent_search, search_batch
from inpaint_gui.core.engines.gan.settings import SearchSettings
from inpaint_gui.core.engines.gan.twoband import base_fills, two_band
from inpaint_gui.core.engines.gan.windows import Window
from inpaint_gui.core.errors import MaskError
from inpaint_gui.core.image.colour import is_grey
from inpaint_gui.core.image.preview import composite_window


def _band_options(search: SearchSettings, network: bool = True) -> dict:
    """``two_band``'s options from the settings: the checkerboard's removal, and over a network's
    low band (``network_low_band``) its sharpening."""
    options = {"remove_checkerboard": search.checkerboard == "remove"}
    return {**options, "sharpen": search.sharpen} if network else options


def search_settings(settings: SearchSettings, common, image: np.ndarray | None = None) -> SearchSettings:
    grey = image is not None and is_grey(image)
    return replace(settings, seed=common.seed, device=common.device, grey=grey)


def run(
    engine,
    image: np.ndarray,
    mask: np.ndarray,
    region: Region,
    settings: SearchSettings,
    common,
    cancel: threading.Event | None = None,
) -> Iterator[Step]:
    plan: FacePlan = region.plan
    model = engine.model(plan.model)
    search = search_settings(settings, common, image[region.hole_in(image.shape)[0]])
    holes = _RegionHoles(region, mask)
    encoder = engine.encoder(plan.encoder) if plan.encoder is not None else None
    if plan.framings:
        steps = _run_framings(image, mask, region, plan, model, search, holes, cancel, encoder)
    else:
        steps = _run_window(image, mask, region, plan, model, search, holes, cancel, encoder)
    start = encoder.card.get("name", "encoder") if encoder is not None else "random draws"
    steps = (replace(st, info={**st.info, "start": start}) if st.done else st for st in steps)  # the final says it
    nets = _NetworkFills(engine, plan, image, mask, search, model.resolution)
    if plan.network is not None:
        first = plan.framings[0].window if plan.framings else plan.window
        fill = nets.get(first)
        if fill is not None:  # the first preview: the network's fill, before the search's first iteration
            thumb = fill.thumbnail(model.resolution, image, mask)
            yield Step(
                0,
                search.iterations,
                np.zeros(1),
                0,
                0.0,
                thumbnails=thumb[None],
                composite=_composer(holes.window(first), first, thumb),
                stage=f"{fill.name} · one pass; searching",
                window=first,
                info={"model": model.name, "window": list(first), "network": fill.name},
            )
    if plan.network_band:
        steps = _banded_previews(steps, nets, holes)
    if plan.low_band is None and plan.network is None:
        yield from steps
    else:
        yield from _with_bands(engine, steps, image, mask, plan, model, search, holes, cancel, nets)


class _NetworkFills:
    """The network's fill of each window a run shows, made on first use (None: it cannot fill
    the hole there, or the plan has no network)."""

    def __init__(
        self, engine, plan: FacePlan, image: np.ndarray, mask: np.ndarray, search: SearchSettings, resolution: int
    ):
        self.nets = engine.networks(plan.network) if plan.network is not None else []
        self.resolution = resolution  # the prior's: the networks' declarations for it
        self.bands = _band_options(search)  # how the previews are composed over the network's fill
        self.image, self.mask = image, mask
        self.fills: dict = {}

    def get(self, window: Window):
        if not self.nets:
            return None
        if window not in self.fills:
            self.fills[window] = network_fill(self.nets, self.image, self.mask, window, self.resolution)
        return self.fills[window]


def _banded_previews(steps, nets: _NetworkFills, holes) -> Iterator[Step]:
    """The search's previews over the network's low band, as the final fill will be (a
    millisecond a thumbnail; the network's pass once per framing shown): what the canvas shows
    while the search runs is the fill's look, not the prior's raw colours."""
    for step in steps:
        fill = nets.get(tuple(step.window)) if step.window is not None else None
        if step.done or step.thumbnails is None or fill is None:
            yield step
            continue
        thumbs = np.stack([network_low_band(t, fill, **nets.bands) for t in step.thumbnails])  # (K, S, S, 3)
        win = tuple(step.window)
        yield replace(step, thumbnails=thumbs, composite=_composer(holes.window(win), win, thumbs[step.best]))


def _run_window(image, mask, region, plan: FacePlan, model, search, holes, cancel, encoder=None) -> Iterator[Step]:
    win = plan.window
    x, y, size = win
    if mask[y : y + size, x : x + size].all():
        raise MaskError(
            f"the hole covers the whole window {win}: there is nothing to condition on (use a larger window)"
        )
    image_small, mask_small = to_model(image, mask, win, model.resolution)
    weight = float(context_weights(mask_small, search.weighting, search.weight_window).sum()) * 3
    window_hole = holes.window(win)
    for s in latent_search(model, image_small, mask_small, search, cancel, encoder):
        step = Step(
            s.iteration,
            s.iterations,
            s.total,
            s.best,
            s.elapsed,
            thumbnails=s.previews,
            composite=_composer(window_hole, win, s.previews[s.best]) if s.previews is not None else None,
            stage=region.label,
            window=win,
            done=s.done,
            cancelled=s.cancelled,
            info={
                "model": model.name,
                "window": list(win),
                "contextual": s.contextual,
                "perceptual": s.perceptual,
                "total": s.total,
            },
        )
        if s.done:
            step.candidates = [
                Candidate(k, f"restart {k + 1}", float(s.total[k]), s.previews[k], (win, s.previews[k]))
                for k in range(len(s.total))
            ]
            step.info.update(stopped_early=s.stopped_early, fit=float(s.contextual[s.best]) / weight * GREY_LEVELS)
        yield step


def _with_bands(engine, steps, image, mask, plan: FacePlan, model, search, holes, cancel, nets) -> Iterator[Step]:
    """``steps``, with the final candidates' low band replaced: by the network's pass of the same
    window (``nets``; ``plan.network_band``, where it can fill the hole), else by ``plan.low_band``'s
    search (twoband.py); the network's fill of the chosen window joins the candidates, last.
    Cancelled in the prior's search: the final step as it was, cancelled."""
    for step in steps:
        if not step.done or step.cancelled:
            yield step
            continue
        start = time.perf_counter()
        windows = list(dict.fromkeys(c.payload[0] for c in step.candidates))
        made = {w: nets.get(w) for w in windows}  # the network's fills (cached since the previews)
        made = {w: f for w, f in made.items() if f is not None}
        by_network = set(made) if plan.network_band else set()
        rest = [w for w in windows if w not in by_network]
        bases: dict = {}
        info = dict(step.info)
        if plan.low_band is not None and rest:
            base_model = engine.model(plan.low_band)
            yield replace(step, done=False, candidates=[], stage=f"low band: {base_model.name}")
            fills = base_fills(base_model, [(image, mask, w) for w in rest], model.resolution, search, cancel)
            if cancel is not None and cancel.is_set():
                yield replace(step, cancelled=True, elapsed=step.elapsed + time.perf_counter() - start)
                return
            bases = dict(zip(rest, fills))
            info["low_band"] = base_model.name
        if by_network:
            info["low_band"] = plan.network
        candidates = []
        for c in step.candidates:
            win, detail = c.payload
            if win in by_network:
                fill = network_low_band(detail, made[win], **_band_options(search))
            elif win in bases:
                fill = two_band(detail, bases[win], **_band_options(search, network=False))  # (S, S, 3)
            else:
                fill = detail
            candidates.append(replace(c, thumbnail=fill, payload=(win, fill)))
        best = candidates[step.best]
        chosen = best.payload[0]
        if chosen in made:  # the network's own fill of the chosen window, a candidate beside the search's
            net_fill = made[chosen]
            candidates.append(
                Candidate(
                    len(candidates),
                    f"{net_fill.name} · one pass",
                    float("nan"),
                    net_fill.thumbnail(model.resolution, image, mask),
                    (chosen, net_fill.pixels),
                )
            )
            info["network"] = net_fill.name
        if chosen in by_network:  # the band split and sharpening the fill got: the setting times the network's share
            info["band_sigma"] = made[chosen].band_sigma
            info["sharpen"] = round(search.sharpen * made[chosen].sharpen_scale, 4)
        yield replace(
            step,
            elapsed=step.elapsed + time.perf_counter() - start,  # the run's seconds include the bands'
            thumbnails=np.stack([c.thumbnail for c in candidates]),
            composite=_composer(holes.window(chosen), chosen, best.payload[1]),
            candidates=candidates,
            losses=np.append(step.losses, np.nan) if len(candidates) > len(step.candidates) else step.losses,
            info=info,
        )


def _run_framings(image, mask, region, plan: FacePlan, model, search, holes, cancel, encoder=None) -> Iterator[Step]:
    frames = list(plan.framings)
    problem = Problem(image, mask, frames)
    run = framing_search(
        model,
        [problem],
        search,
        cancel,
        preview_seconds=search.preview_seconds,
        final_keep=plan.final_keep,
        encoder=encoder,
    )
    for item in run:
        if not isinstance(item, FramingResult):
            win = frames[item.best].window
            best = int(np.argmin(item.total)) if item.previews is not None else 0
            yield Step(
                item.iteration,
                item.iterations,
                item.total,
                best,
                item.elapsed,
                thumbnails=item.previews,
                composite=_composer(holes.window(win), win, item.previews[best]) if item.previews is not None else None,
                stage=item.stage,
                window=win,
                info={"model": model.name, "window": list(win)},
            )
            continue
        yield _framing_final(item, frames, region, model, holes)


def _framing_final(result: FramingResult, frames: list[Frame], region: Region, model, holes) -> Step:
    order = result.survivors[0]
    candidates = []
    for rank, f_index in enumerate(order):
        x, y, s = frames[f_index].window
        for k in range(result.fills[0].shape[1]):
            fill = result.fills[0][rank, k]
            candidates.append(
                Candidate(
                    len(candidates),
                    f"framing {x},{y},{s} · restart {k + 1}",
                    float(result.contextual[0][rank, k]),
                    fill,
                    ((x, y, s), fill),
                )
            )
    k = result.fills[0].shape[1]
    best = int(np.argmin(result.total[0][0]))  # the best framing's best restart
    chosen = frames[order[0]].window
    losses = np.array([c.loss for c in candidates])
    tried = [
        {
            "window": list(f.window),
            "loss": float(result.normalised[0][i]),
            "score": float(result.normalised[0][i] / result.detail[0][i]),  # what ranked it: loss / detail
            "detail": float(result.detail[0][i]),
            "cuts": int(result.rounds[0][i]),
            "hole_share": round(f.hole_share, 3),
        }
        for i, f in enumerate(frames)
    ]
    info = {
        "model": model.name,
        "window": list(chosen),
        "fit": float(result.contextual[0][0, best]),
        "framings": tried,
        "chosen": list(chosen),
        "total": result.total[0][0],
        "iterations_per_framing": result.iterations_run[0],
    }
    return Step(
        result.iterations,
        result.iterations,
        losses,
        best,
        result.seconds,
        thumbnails=np.stack([c.thumbnail for c in candidates]),
        composite=_composer(holes.window(chosen), chosen, result.fills[0][0, best]),
        stage=region.label,
        window=chosen,
        done=True,
        cancelled=result.cancelled,
        candidates=candidates,
        info=info,
    )


def fill_batch(
    engine,
    images: np.ndarray,
    masks: np.ndarray,
    settings: SearchSettings,
    common,
    windows: Sequence[Sequence[int]] | None = None,
) -> tuple[list[Fill], dict]:
    """One hole per image (uint8 (B, H, W, 3), bool (B, H, W)), every image's work in one
    batched search per model: fixed windows (``windows``, one per image, or the automatic
    ones) in one, framing searches (the default) in another. The best candidate's fill per image, and
    ``iterations_run`` (int (B,), the most any of the image's windows ran)."""
    search = search_settings(settings, common)
    plans = []
    for b, (image, mask) in enumerate(zip(images, masks)):
        (region,) = engine.plan(image, mask, settings, common, None if windows is None else windows[b])
        plans.append(region.plan)
    fills: list[Fill | None] = [None] * len(images)
    found: list = [None] * len(images)  # (window, fill at the model's resolution) per image
    runs = np.zeros(len(images), np.int64)
    for name in dict.fromkeys(pl.model for pl in plans):  # one batched search per model, in plan order
        model = engine.model(name)
        encoder = next((engine.encoder(pl.encoder) for pl in plans if pl.model == name and pl.encoder), None)
        fixed = [b for b, pl in enumerate(plans) if pl.model == name and not pl.framings]
        if fixed:
            smalls = [to_model(images[b], masks[b], plans[b].window, model.resolution) for b in fixed]
            result = search_batch(
                model, np.stack([sm[0] for sm in smalls]), np.stack([sm[1] for sm in smalls]), search, encoder=encoder
            )
            for i, b in enumerate(fixed):
                found[b] = (plans[b].window, result.best_fills[i])
                runs[b] = result.iterations_run[i]
        framed = [b for b, pl in enumerate(plans) if pl.model == name and pl.framings]
        if framed:
            problems = [Problem(images[b], masks[b], list(plans[b].framings)) for b in framed]
            keep = min(plans[b].final_keep for b in framed)
            result = list(framing_search(model, problems, search, final_keep=keep, encoder=encoder))[-1]
            for i, b in enumerate(framed):
                best = int(np.argmin(result.total[i][0]))
                found[b] = (plans[b].framings[result.survivors[i][0]].window, result.fills[i][0, best])
                runs[b] = result.iterations_run[i].max()
        mine = [b for b, pl in enumerate(plans) if pl.model == name]
        by_network = set()
        for b in (b for b in mine if plans[b].network_band):
            nets = engine.networks(plans[b].network)
            net_fill = network_fill(nets, images[b], masks[b], found[b][0], model.resolution)
            if net_fill is not None:
                found[b] = (found[b][0], network_low_band(found[b][1], net_fill, **_band_options(search)))
                by_network.add(b)
        banded = [b for b in mine if plans[b].low_band and b not in by_network]
        if banded:
            items = [(images[b], masks[b], found[b][0]) for b in banded]
            bases = base_fills(engine.model(plans[banded[0]].low_band), items, model.resolution, search)
            for i, b in enumerate(banded):
                found[b] = (
                    found[b][0],
                    two_band(found[b][1], bases[i], **_band_options(search, network=False)),
                )
    for b, ((x, y, size), fill) in enumerate(found):
        fills[b] = Fill((x, y, x + size, y + size), from_model(fill, size))
    return fills, {"iterations_run": runs}


class _RegionHoles:
    """The region's hole pixels still missing, cut out for any window inside the region's rect."""

    def __init__(self, region: Region, mask: np.ndarray):
        x0, y0, _x1, _y1 = region.rect
        self.origin = (x0, y0)
        sl, hole = region.hole_in(mask.shape)
        self.hole = np.zeros_like(region.hole)
        self.hole[sl[0].start - y0 : sl[0].stop - y0, sl[1].start - x0 : sl[1].stop - x0] = hole & mask[sl]

    def window(self, window: Window) -> np.ndarray:
        x, y, s = window
        ox, oy = self.origin
        return self.hole[y - oy : y - oy + s, x - ox : x - ox + s]


def _composer(hole: np.ndarray, window: Window, fill_small: np.ndarray):
    fill = np.array(fill_small, copy=True)  # the step's array may be reused by a later step
    return lambda max_side: composite_window(hole, window, fill, max_side)
