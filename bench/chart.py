"""The PNG beside the report: one horizontal bar per ratio (median), whiskers p25-p75, log scale, a line at 1."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from .report import Bar


def draw(bars: list[Bar], path: Path, title: str) -> None:
    """Write a chart of ``bars`` grouped in panels (one per group) to ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups: dict[str, list[Bar]] = defaultdict(list)
    for bar in bars:
        groups[bar.group].append(bar)
    if not groups:
        return
    heights = [max(1.2, 0.28 * len(items) + 0.8) for items in groups.values()]
    figure, axes = plt.subplots(len(groups), 1, figsize=(11, sum(heights)), gridspec_kw={"height_ratios": heights})
    axes_list = list(axes) if len(groups) > 1 else [axes]
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
    axes_list[-1].set_xlabel("time ratio ours / baseline (log scale; < 1: ours faster; whiskers p25-p75)")
    figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
