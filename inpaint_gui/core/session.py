"""The inpainting flow's state, without Qt: plan -> run -> choose -> apply -> re-plan.

:class:`Flow` holds what the window's inpainting has decided: the regions planned for which
photo, mask version, window and settings (the *key*), whether the plan is stale, a run that
waits for its plan, the running or applying job, the finished run's candidates and the one
chosen, and the fills applied so far. It never runs anything: each event method returns the
:class:`Action` the caller (``gui/session.py``, which owns the jobs, the timer and the widgets)
must take next, so the whole flow can be driven and tested in plain Python.

Rules the flow keeps:
- a plan is for one key; a plan that finishes for an older key is kept but is stale, and
  Inpaint plans again first;
- edits while a run or an apply is going, or while candidates wait to be chosen, only mark
  the plan dirty: it is re-planned once the photo is idle again (after Apply or Discard);
- Cancel stops a run (its best-so-far candidates are kept), forgets an apply in progress (the
  photo stays as it was), or drops a run that waited for its plan;
- an applied fill is recorded (region, candidate) until it is undone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class Action(Enum):
    NOTHING = "nothing"
    PLAN = "plan"  # start a plan job now
    PLAN_SOON = "plan soon"  # start a plan job after the debounce delay
    RUN = "run"  # start a run job on ``flow.region``
    ERROR = "error"  # tell the user ``flow.message``
    CANCEL_RUN = "cancel run"  # set the run job's cancel flag (its final step keeps the candidates)
    DROP_FINISH = "drop finish"  # forget the apply job: the photo stays as it was
    SHOW = "show"  # show the finished run's candidates


@dataclass
class Applied:
    """A fill that went into the photo: which region, which candidate, where."""

    engine: str
    region_label: str
    candidate_label: str
    rect: tuple[int, int, int, int]
    step: Any = None  # the photo history's step that holds it (its undo command's id), or None


@dataclass
class Flow:
    regions: list = field(default_factory=list)
    region: Any = None  # the region shown, run or being applied
    key: Any = None  # what ``regions`` were planned for (None: nothing planned yet)
    plan_error: str = ""  # why the last plan found no region
    dirty: bool = False  # the mask or settings changed while busy: plan again when idle
    run_after_plan: bool = False  # Inpaint was pressed while the plan was stale
    job: str | None = None  # "plan", "run" or "finish" while one is live
    result: Any = None  # the finished run (its candidates), until applied or discarded
    selected: int = -1  # the candidate chosen in the list (-1: the run's best)
    applied: list[Applied] = field(default_factory=list)  # in the photo now, oldest first
    undone: list[Applied] = field(default_factory=list)  # undone and redoable, last undone last
    message: str = ""  # the text of the last ERROR action

    # -- state -------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.job == "run"

    @property
    def finishing(self) -> bool:
        return self.job == "finish"

    @property
    def busy(self) -> bool:
        """A run or an apply is under way (or a run waits for its plan)."""
        return self.job in ("run", "finish") or self.run_after_plan

    def fresh(self, key: Any) -> bool:
        return self.key is not None and self.key == key and self.job != "plan"

    def _error(self, message: str) -> Action:
        self.message = message
        return Action.ERROR

    # -- edits and planning ------------------------------------------------------------------
    def reset(self) -> None:
        """Another photo (or none): nothing planned, nothing running, no candidates."""
        self.regions, self.region, self.key, self.plan_error = [], None, None, ""
        self.dirty = self.run_after_plan = False
        self.job, self.result, self.selected = None, None, -1
        self.applied.clear()
        self.undone.clear()

    def edited(self) -> Action:
        """The mask, the exclusion, the settings or the placed window changed."""
        if self.busy or self.result is not None:
            self.dirty = True
            return Action.NOTHING
        return Action.PLAN_SOON

    def plan_started(self) -> None:
        self.dirty = False
        self.job = "plan" if self.job in (None, "plan") else self.job

    def planned(self, key: Any, regions: list) -> Action:
        """A plan job for ``key`` found ``regions``: the first is shown; a waiting run starts."""
        if self.job == "plan":
            self.job = None
        self.key, self.plan_error = key, ""
        self.regions = list(regions)
        self.region = self.regions[0] if self.regions else None
        if self.region is None:
            self.plan_error = "the engine found nothing to fill"
        return self._after_plan()

    def plan_failed(self, key: Any, message: str) -> Action:
        if self.job == "plan":
            self.job = None
        self.key, self.plan_error = key, message
        self.regions, self.region = [], None
        return self._after_plan()

    def _after_plan(self) -> Action:
        if not self.run_after_plan:
            return Action.NOTHING
        self.run_after_plan = False
        if self.region is None:
            return self._error(self.plan_error)
        return self._start_run()

    # -- the run -----------------------------------------------------------------------------
    def inpaint(self, key: Any, planning: bool = False) -> Action:
        """Inpaint was pressed: run the planned region, or plan first when the plan is stale
        (``planning``: a plan is pending or running)."""
        if self.busy:
            return Action.NOTHING
        self.result, self.selected = None, -1  # a new run replaces the candidates
        if self.fresh(key) and not planning:
            if self.region is not None:
                return self._start_run()
            if self.plan_error:
                return self._error(self.plan_error)
        self.run_after_plan = True
        return Action.PLAN

    def _start_run(self) -> Action:
        self.result, self.selected = None, -1
        self.job = "run"
        return Action.RUN

    def run_finished(self, result: Any) -> Action:
        """The run's last update (``result.candidates``, ``result.best``)."""
        self.job = None
        if not result.candidates:
            return self._error("the engine returned no candidates")
        self.result = result
        self.selected = -1
        return Action.SHOW

    def run_failed(self) -> None:
        self.job = None
        self.result, self.selected = None, -1

    def cancel(self) -> Action:
        if self.running:
            return Action.CANCEL_RUN
        if self.finishing:
            self.job = None
            return Action.DROP_FINISH
        if self.run_after_plan:
            self.run_after_plan = False
            return Action.NOTHING
        return Action.NOTHING

    # -- choose, apply, discard ----------------------------------------------------------------
    def choose(self, index: int) -> Any:
        """Candidate ``index`` of the finished run, now selected; None when there is none to choose."""
        if self.result is None or self.busy or not 0 <= index < len(self.result.candidates):
            return None
        self.selected = index
        return self.result.candidates[index]

    def chosen(self) -> Any:
        """The candidate Apply would seat: the one selected, or the run's best."""
        if self.result is None:
            return None
        index = self.selected if self.selected >= 0 else self.result.best
        return self.result.candidates[index]

    def apply(self) -> Any:
        """Start applying the chosen candidate; None when there is nothing to apply."""
        if self.result is None or self.busy:
            return None
        self.job = "finish"
        return self.chosen()

    def finish_done(self, rect: tuple[int, int, int, int], step: Any = None) -> Action:
        """The chosen candidate went into the photo over ``rect`` (as history step ``step``):
        recorded; plan the rest."""
        candidate = self.chosen()
        region = self.region
        self.job = None
        if region is not None and candidate is not None:
            self.applied.append(Applied(region.engine, region.label, candidate.label, tuple(rect), step))
            self.undone.clear()  # a new step ends what could be redone
        self.result, self.selected = None, -1
        self.dirty = True
        return self.idle()

    def finish_failed(self) -> None:
        self.job = None

    def discard(self) -> Action:
        self.result, self.selected = None, -1
        return self.idle()

    def history(self, redoable: set) -> Action:
        """The photo's history moved (undo, redo): ``redoable`` holds its undone steps. Applied
        fills whose step is undone move to ``undone``, redone ones back; an edit plans again."""
        moved = False
        while self.applied and self.applied[-1].step in redoable:
            self.undone.append(self.applied.pop())
            moved = True
        while self.undone and self.undone[-1].step not in redoable:
            self.applied.append(self.undone.pop())
            moved = True
        return self.edited() if moved else Action.NOTHING

    def idle(self) -> Action:
        """Back to no run, no candidates: plan what changed meanwhile."""
        if self.dirty and not self.busy and self.result is None:
            self.dirty = False
            return Action.PLAN_SOON
        return Action.NOTHING
