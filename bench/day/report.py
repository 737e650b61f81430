"""report.json and report.html of a played day: the policies side by side, plots as inline SVG."""

from __future__ import annotations

import html
import json
import math
from pathlib import Path
from typing import Any

__all__ = ["CRIMEA_OUTLINE", "render_html", "write_report"]

# The peninsula's coastline, coarsely (lon, lat), clockwise from the Perekop isthmus.
CRIMEA_OUTLINE: tuple[tuple[float, float], ...] = (
    (33.65, 46.16), (34.05, 46.05), (34.45, 45.95), (34.85, 45.80), (35.10, 45.65), (35.35, 45.40),
    (35.60, 45.35), (35.90, 45.45), (36.25, 45.47), (36.62, 45.40), (36.45, 45.25), (36.42, 45.07),
    (36.05, 45.03), (35.75, 45.07), (35.40, 45.00), (35.22, 44.82), (34.95, 44.83), (34.65, 44.78),
    (34.40, 44.60), (34.15, 44.45), (33.80, 44.40), (33.55, 44.50), (33.38, 44.58), (33.50, 44.73),
    (33.55, 44.95), (33.35, 45.15), (33.05, 45.25), (32.60, 45.35), (32.48, 45.45), (32.80, 45.60),
    (33.30, 45.75), (33.65, 45.90), (33.65, 46.16),
)  # fmt: skip

POLICY_COLOURS = {"fieldline": "#1f6feb", "nearest": "#d9480f"}
HEADLINES = (
    ("response_sla_met_pct", "Response SLA met, %"),
    ("fix_sla_met_pct", "Fix SLA met, %"),
    ("emergency_response_min_p50", "Emergency response, median min"),
    ("emergency_response_min_p90", "Emergency response, p90 min"),
    ("travel_km", "Driven, km"),
    ("travel_h", "Driving, h"),
    ("utilisation_pct", "Utilisation (on site / shift), %"),
    ("first_time_fix_pct", "First-time fix, %"),
    ("on_time_pct", "On time vs promised ETA, %"),
    ("csat", "CSAT (1-5)"),
    ("nps", "NPS"),
    ("planned_visits", "Planned visits open on the day"),
    ("planned_visits_done", "Planned visits done on the day"),
    ("planned_visits_booked_later", "Planned visits booked for a later day"),
    ("emergencies", "Emergencies filed"),
    ("completed", "Jobs completed"),
    ("cancelled", "Emergencies cancelled"),
)


def write_report(out_dir: Path, report: dict[str, Any]) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    lean = {
        **report,
        "policies": {
            p: {k: v for k, v in m.items() if k not in ("routes", "database_url")}
            for p, m in report["policies"].items()
        },
    }
    (out_dir / "report.json").write_text(json.dumps(lean, indent=2, default=str) + "\n")
    (out_dir / "report.html").write_text(render_html(report))


def _fmt(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.1f}"
    return html.escape(str(value))


def _bars(title: str, series: dict[str, dict[str, float]], unit: str = "") -> str:
    """Grouped horizontal bars: one group per key, one bar per policy."""
    keys = sorted({k for values in series.values() for k in values})
    if not keys:
        return f"<h3>{html.escape(title)}</h3><p>no data</p>"
    top = max((v for values in series.values() for v in values.values() if v is not None), default=1.0) or 1.0
    row_h, label_w, width = 14, 170, 640
    height = len(keys) * row_h * (len(series) + 1) + 10
    parts = [f'<svg viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img">']
    y = 5
    for key in keys:
        parts.append(
            f'<text x="{label_w - 6}" y="{y + row_h}" text-anchor="end" font-size="11">{html.escape(key)}</text>'
        )
        for policy, values in series.items():
            value = values.get(key)
            w = 0 if value is None else (width - label_w - 60) * value / top
            colour = POLICY_COLOURS.get(policy, "#555")
            parts.append(f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{row_h - 2}" fill="{colour}"/>')
            parts.append(
                f'<text x="{label_w + w + 4:.1f}" y="{y + row_h - 3}" font-size="10">{_fmt(value)}{unit}</text>'
            )
            y += row_h
        y += row_h
    parts.append("</svg>")
    return f"<h3>{html.escape(title)}</h3>" + "".join(parts)


def _map(routes_by_policy: dict[str, dict[str, list[tuple[float, float]]]]) -> str:
    lon0, lon1, lat0, lat1 = 32.4, 36.8, 44.3, 46.25
    width, height = 620, 380

    def xy(lat: float, lon: float) -> str:
        return f"{(lon - lon0) / (lon1 - lon0) * width:.1f},{(lat1 - lat) / (lat1 - lat0) * height:.1f}"

    outline = " ".join(xy(lat, lon) for lon, lat in CRIMEA_OUTLINE)
    maps = []
    for policy, routes in routes_by_policy.items():
        colour = POLICY_COLOURS.get(policy, "#555")
        lines = [
            f'<polyline points="{" ".join(xy(a, b) for a, b in points)}" fill="none" stroke="{colour}" '
            f'stroke-width="1.2" stroke-opacity="0.7"><title>{html.escape(name)}</title></polyline>'
            for name, points in routes.items()
            if len(points) > 1
        ]
        maps.append(
            f"<figure><figcaption>{html.escape(policy)}: the day's drives from the position pings</figcaption>"
            f'<svg viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img">'
            f'<polygon points="{outline}" fill="#eef3ea" stroke="#8a9a80"/>{"".join(lines)}</svg></figure>'
        )
    return '<div class="maps">' + "".join(maps) + "</div>"


def histogram(samples: dict[str, list[float]], bin_min: float) -> dict[str, dict[str, float]]:
    """Counts per ``bin_min``-wide bin and policy, bins from the lowest sample's to the highest's (negative ones too),
    labelled in order ("00: -30 to -15 min", ...)."""
    values = [v for vs in samples.values() for v in vs]
    if not values:
        return {}
    low, high = math.floor(min(values) / bin_min), math.floor(max(values) / bin_min)
    labels = {
        b: f"{k:02d}: {int(b * bin_min)} to {int((b + 1) * bin_min)} min" for k, b in enumerate(range(low, high + 1))
    }
    counts = {policy: dict.fromkeys(labels.values(), 0.0) for policy in samples}
    for policy, vs in samples.items():
        for v in vs:
            counts[policy][labels[math.floor(v / bin_min)]] += 1
    return counts


def _histogram(title: str, samples: dict[str, list[float]], bin_min: float = 30.0) -> str:
    return _bars(title, histogram(samples, bin_min))


def render_html(report: dict[str, Any]) -> str:
    policies: dict[str, dict[str, Any]] = report["policies"]
    names = list(policies)
    head = "".join(f'<th style="color:{POLICY_COLOURS.get(p, "#000")}">{html.escape(p)}</th>' for p in names)
    rows = "".join(
        f"<tr><td>{html.escape(label)}</td>"
        + "".join(f"<td>{_fmt(policies[p].get(key))}</td>" for p in names)
        + "</tr>"
        for key, label in HEADLINES
    )
    by_priority = {
        p: {k: v for k, v in m.get("response_sla_met_pct_by_priority", {}).items()} for p, m in policies.items()
    }
    fix_by_priority = {p: dict(m.get("fix_sla_met_pct_by_priority", {})) for p, m in policies.items()}
    per_tech = {p: dict(m.get("per_technician_km", {})) for p, m in policies.items()}
    workload = {p: {f"{h}:00": float(n) for h, n in m.get("finished_by_hour", {}).items()} for p, m in policies.items()}
    on_time = {p: {"on time": m.get("on_time_pct") or 0.0} for p, m in policies.items()}
    response = {p: list(m.get("response_minutes", [])) for p, m in policies.items()}
    arrivals = {p: list(m.get("arrival_vs_promise_min", [])) for p, m in policies.items()}
    scenario = report.get("scenario", {})
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Fieldline simulated day, seed {report.get("seed")}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1300px; color: #222; }}
table {{ border-collapse: collapse; }}
td, th {{ padding: .3rem .8rem; border-bottom: 1px solid #ddd; text-align: right; }}
td:first-child {{ text-align: left; }} .maps {{ display: flex; gap: 1rem; flex-wrap: wrap; }}
.grid {{ display: grid; grid-template-columns: 1fr 1fr; gap: 1rem; }} figure {{ margin: 0; }}
</style></head><body>
<h1>A day of a refrigeration service company across Crimea</h1>
<p>Seed {report.get("seed")}: {html.escape(json.dumps(scenario))}. The same company, the same emergencies and the
same technician behaviour played through the real services twice: with Fieldline's planner and reactive dispatch, and
with a nearest-qualified-technician dispatcher (docs/day.md). Every number comes from the services' own records.
Wall time {report.get("wall_s")} s.</p>
<table><tr><th></th>{head}</tr>{rows}</table>
<div class="grid">
<div>{_bars("Response SLA met by priority, %", by_priority)}</div>
<div>{_bars("Fix SLA met by priority, %", fix_by_priority)}</div>
<div>{_histogram("Emergency response time (filed to on site), count per 30 min", response)}</div>
<div>{_bars("Arrivals within the promised ETA window, %", on_time)}
{_histogram("Arrival against the promised ETA (minutes late; negative: early), count per 15 min", arrivals, 15.0)}</div>
<div>{_bars("Km driven per technician", per_tech)}</div>
<div>{_bars("Workload: jobs finished per hour", workload)}</div>
</div>
<h2>Routes</h2>
{_map({p: m.get("routes", {}) for p, m in policies.items()})}
</body></html>
"""
