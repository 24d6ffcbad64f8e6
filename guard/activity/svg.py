"""Charts as inline SVG, rendered in Python at build time: no script, no library, no network.

Every label passes through `guard.report.escape.html` (SVG text inside HTML is HTML). Numbers
are formatted here, never taken as text from the data.
"""

from __future__ import annotations

from collections.abc import Sequence

from guard.report.escape import html as esc

PALETTE = (
    "#4e79a7",
    "#f28e2b",
    "#e15759",
    "#76b7b2",
    "#59a14f",
    "#edc948",
    "#b07aa1",
    "#ff9da7",
    "#9c755f",
    "#bab0ac",
)
OTHER = "#c9c9c9"
W, H = 760, 240
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 28, 48


def color(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def _num(v: float) -> str:
    return f"{v:.1f}".rstrip("0").rstrip(".")


def _legend(names: Sequence[str], y: float, colors: Sequence[str] | None = None) -> list[str]:
    out = []
    x = float(LEFT)
    for i, name in enumerate(names):
        c = colors[i] if colors else color(i)
        out.append(f'<rect x="{_num(x)}" y="{_num(y - 9)}" width="10" height="10" fill="{c}"/>')
        out.append(f'<text x="{_num(x + 14)}" y="{_num(y)}" class="lg">{esc(name)}</text>')
        x += 22 + 7 * min(len(name), 28)
    return out


def _frame(title: str, body: list[str], height: int = H) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {W} {height}" '
        f'width="{W}" height="{height}" role="img" aria-label="{esc(title)}">'
        f"<title>{esc(title)}</title>" + "".join(body) + "</svg>"
    )


def stacked_bars(
    title: str, labels: Sequence[str], series: Sequence[tuple[str, Sequence[float]]], ymax: float = 100.0
) -> str:
    """Columns per label, stacked by series (values in the unit of `ymax`, e.g. percent)."""
    plot_w, plot_h = W - LEFT - RIGHT, H - TOP - BOTTOM
    body: list[str] = [f'<text x="{LEFT}" y="16" class="tt">{esc(title)}</text>']
    top = max([ymax, *(sum(s[1][i] for s in series) for i in range(len(labels)))]) or 1.0
    for frac in (0.0, 0.25, 0.5, 0.75, 1.0):
        y = TOP + plot_h * (1 - frac)
        body.append(f'<line x1="{LEFT}" x2="{W - RIGHT}" y1="{_num(y)}" y2="{_num(y)}" class="grid"/>')
        body.append(
            f'<text x="{LEFT - 4}" y="{_num(y + 4)}" class="ax" text-anchor="end">{top * frac:.4g}</text>'
        )
    n = max(1, len(labels))
    step = plot_w / n
    bar = max(1.0, step * 0.8)
    every = max(1, n // 10)
    for i, label in enumerate(labels):
        x = LEFT + i * step + (step - bar) / 2
        y = float(TOP + plot_h)
        for j, (name, values) in enumerate(series):
            h = plot_h * values[i] / top
            if h <= 0:
                continue
            y -= h
            tip = f"{label} {name}: {_num(values[i])}"
            body.append(
                f'<rect x="{_num(x)}" y="{_num(y)}" width="{_num(bar)}" height="{_num(h)}" '
                f'fill="{color(j)}"><title>{esc(tip)}</title></rect>'
            )
        if i % every == 0:
            body.append(
                f'<text x="{_num(x + bar / 2)}" y="{TOP + plot_h + 14}" class="ax" '
                f'text-anchor="middle">{esc(label)}</text>'
            )
    body += _legend([name for name, _ in series], H - 10)
    return _frame(title, body)


def hbars(title: str, rows: Sequence[tuple[str, Sequence[float]]], parts: Sequence[str]) -> str:
    """One horizontal bar per row, split into `parts` (e.g. step-up, allowed), with counts."""
    height = TOP + 24 * max(1, len(rows)) + 36
    body: list[str] = [f'<text x="{LEFT}" y="16" class="tt">{esc(title)}</text>']
    label_w = 150
    plot_w = W - label_w - RIGHT - 60
    top = max([sum(v) for _, v in rows] + [1.0])
    colors = ["#e15759", "#59a14f", *PALETTE]
    for r, (label, values) in enumerate(rows):
        y = TOP + 24 * r
        body.append(f'<text x="{label_w - 6}" y="{y + 14}" class="ax" text-anchor="end">{esc(label)}</text>')
        x = float(label_w)
        for j, v in enumerate(values):
            w = plot_w * v / top
            if w <= 0:
                continue
            tip = f"{label} {parts[j]}: {_num(v)}"
            body.append(
                f'<rect x="{_num(x)}" y="{y + 2}" width="{_num(w)}" height="18" fill="{colors[j]}">'
                f"<title>{esc(tip)}</title></rect>"
            )
            x += w
        counts = " / ".join(_num(v) for v in values)
        body.append(f'<text x="{_num(x + 6)}" y="{y + 15}" class="ax">{esc(counts)}</text>')
    body += _legend(list(parts), height - 10, colors)
    return _frame(title, body, height)


def columns(title: str, bins: Sequence[tuple[str, int]]) -> str:
    """A histogram: one labelled column per bin."""
    return stacked_bars(title, [b for b, _ in bins], [("changes", [float(n) for _, n in bins])], ymax=1.0)


def timeline(events: Sequence[tuple[int, str]], kinds: Sequence[str], t0: int, t1: int) -> str:
    """One session: a time axis with a marker per event (`kinds` fixes the colours)."""
    height = 34
    span = max(1, t1 - t0)
    body = [f'<line x1="10" x2="{W - 10}" y1="17" y2="17" class="grid"/>']
    for t, kind in events:
        x = 10 + (W - 20) * (t - t0) / span
        c = color(kinds.index(kind)) if kind in kinds else OTHER
        body.append(f'<circle cx="{_num(x)}" cy="17" r="6" fill="{c}"><title>{esc(kind)}</title></circle>')
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="timeline" viewBox="0 0 {W} {height}" '
        f'width="{W}" height="{height}" role="img" aria-label="session timeline">' + "".join(body) + "</svg>"
    )
