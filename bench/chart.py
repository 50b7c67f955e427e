"""The PNG beside the report: one horizontal bar per ratio (median), whiskers p25-p75, log scale, a line at 1.

Under the bars, when the soak suite ran: one panel of server footprint / live keys against keys churned,
a line per backend (a leak climbs with the keys churned; a footprint that follows the live keys stays flat).
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

from .report import Bar, SoakPoint


def draw(bars: list[Bar], path: Path, title: str, soak: dict[str, list[SoakPoint]] | None = None) -> None:
    """Write a chart of ``bars`` grouped in panels (one per group), then the soak panel, to ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups: dict[str, list[Bar]] = defaultdict(list)
    for bar in bars:
        groups[bar.group].append(bar)
    soak = soak or {}
    if not groups and not soak:
        return
    heights = [max(1.2, 0.28 * len(items) + 0.8) for items in groups.values()] + ([3.0] if soak else [])
    figure, axes = plt.subplots(len(heights), 1, figsize=(11, sum(heights)), gridspec_kw={"height_ratios": heights})
    axes_list = list(axes) if len(heights) > 1 else [axes]
    if soak:
        draw_soak(axes_list.pop(), soak)
    for ax, (group, items) in zip(axes_list, groups.items(), strict=True):
        labels = [bar.label for bar in items]
        medians = [bar.ratio.median for bar in items]
        low = [bar.ratio.median - bar.ratio.p25 for bar in items]
        high = [bar.ratio.p75 - bar.ratio.median for bar in items]
        colours = ["#2a9d8f" if m <= 1 else "#e9c46a" if m <= 2 else "#e76f51" for m in medians]
        positions = range(len(items))
        ax.barh(positions, medians, xerr=[low, high], color=colours, capsize=2, ecolor="#333333")
        ax.set_yticks(list(positions), labels, fontsize=7)
        ax.invert_yaxis()
        ax.set_xscale("log")
        ax.axvline(1.0, color="black", linewidth=0.8)
        ax.set_title(group, fontsize=9, loc="left")
        ax.tick_params(axis="x", labelsize=7)
        for position, median in zip(positions, medians, strict=True):
            ax.annotate(f"{median:.3g}", (median, position), xytext=(3, -3), textcoords="offset points", fontsize=6)
    if axes_list:
        axes_list[-1].set_xlabel("time ratio ours / baseline (log scale; < 1: ours faster; whiskers p25-p75)")
    figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def draw_soak(ax: Any, soak: dict[str, list[SoakPoint]]) -> None:
    """Footprint / live keys against keys churned, one line per backend."""
    for name, points in soak.items():
        xs = [point.churned for point in points]
        ys = [point.footprint / max(1, point.live) for point in points]
        ax.plot(xs, ys, marker="o", markersize=3, label=name)
    ax.axhline(3.0, color="#e76f51", linewidth=0.8, linestyle="--", label="3 x live")
    ax.set_yscale("log")
    ax.set_title("soak: server footprint / live keys while churning (last point: after the ttl passed)", fontsize=9)
    ax.set_xlabel("keys churned", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.legend(fontsize=7, ncol=4)
