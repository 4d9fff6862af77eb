#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
"""Draw the Grafana dashboard's panels from Prometheus query_range answers.

Usage: dashboard_picture.py RANGES.json OUT.png

RANGES.json (written by dashboard_picture.sh) maps each panel's title, in
the dashboard's order, to a list of {"expr", "answer"}, where answer is the
HTTP API's query_range response (matrix: values are [unix seconds, "text"]).
One small panel each, the x axis in seconds since the run began, each series
labelled by its labels (the expression when it has none); series that stay
at zero throughout are left out (they would only crowd the legend). Exits 1 when no
panel holds data: a picture of nothing documents nothing.
"""
import json
import sys

import matplotlib

matplotlib.use("Agg")  # no display: a file only
import matplotlib.pyplot as plt  # noqa: E402


def series(answer):
    """Yield (label, [t], [v]) for each series of a query_range answer."""
    for s in answer.get("data", {}).get("result", []):
        label = ", ".join(f"{k}={v}" for k, v in sorted(s["metric"].items())) or None
        t = [float(p[0]) for p in s["values"]]
        v = [float(p[1]) for p in s["values"]]
        yield label, t, v


def main(src, out):
    with open(src, encoding="utf-8") as f:
        panels = json.load(f)
    t0 = min((float(p[0]) for qs in panels.values() for q in qs
              for s in q["answer"].get("data", {}).get("result", []) for p in s["values"]),
             default=None)
    if t0 is None:
        print("dashboard_picture.py: no panel holds data", file=sys.stderr)
        return 1
    cols = 3
    rows = (len(panels) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(12, 2.6 * rows), squeeze=False)
    for ax, (title, queries) in zip(axes.flat, panels.items()):
        ax.set_title(title, fontsize=9)
        for q in queries:
            short = q["expr"] if len(q["expr"]) < 40 else q["expr"][:37] + "..."
            for label, t, v in series(q["answer"]):
                if not any(v):  # a series of zeros only crowds the legend
                    continue
                ax.plot([x - t0 for x in t], v, label=label or short, linewidth=1.2)
        ax.tick_params(labelsize=7)
        ax.set_xlabel("s", fontsize=7)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=6, loc="upper left")
        else:
            ax.text(0.5, 0.5, "zero throughout", ha="center", va="center", transform=ax.transAxes)
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    fig.suptitle("imapguard dashboard (contrib/grafana/imapguard.json): "
                 "its queries on a lab agent under traffic", fontsize=10)
    fig.tight_layout()
    fig.savefig(out, dpi=72)
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1], sys.argv[2]))
