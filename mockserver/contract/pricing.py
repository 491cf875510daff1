"""What a result costs, from the rate table in the model profile.

The rates are those the spec's five examples actually bill (see docs/model-profile.md for the
derivation): per output second, by resolution class, with first-and-last-frame interpolation
billed at its own rate.
"""

from __future__ import annotations

from mockserver.contract import allowed_sizes, frame_positions, model_profile


def resolution_class(model: str, width: int, height: int) -> str:
    """``720p`` or ``1080p`` for one of the model's sizes."""
    for w, h, cls in allowed_sizes(model):
        if (w, h) == (width, height):
            return cls
    raise ValueError(f"{width}x{height} is not a size of {model}")


def billing_mode(task: dict) -> str:
    """``firstLastFrame`` when frameImages pins both ends of the video, else ``default``."""
    positions = set(frame_positions(task.get("inputs", {}).get("frameImages", [])))
    return "firstLastFrame" if positions == {"first", "last"} else "default"


def task_cost(task: dict, width: int, height: int) -> float:
    """USD for one result of a task with defaults filled (each result is billed on its own)."""
    pricing = model_profile(task["model"])["pricing"]
    rate = pricing["perSecond"][resolution_class(task["model"], width, height)][billing_mode(task)]
    return round(rate * task["duration"], pricing["decimals"])


def run_cost(task: dict, width: int, height: int) -> float:
    """USD for the whole task, every result of ``numberResults`` (what a dry run quotes)."""
    decimals = model_profile(task["model"])["pricing"]["decimals"]
    return round(task_cost(task, width, height) * task["numberResults"], decimals)
