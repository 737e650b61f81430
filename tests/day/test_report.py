"""The day report's histograms: counts per bin, negative samples included (arrivals before the promised ETA)."""

from __future__ import annotations

from bench.day.report import histogram, render_html


def test_a_histogram_counts_each_sample_once_in_its_bin_from_the_lowest_to_the_highest() -> None:
    counts = histogram({"fieldline": [-20, -1, 0, 14.9, 15, 44], "nearest": [3]}, 15)
    assert counts["fieldline"] == {
        "00: -30 to -15 min": 1,
        "01: -15 to 0 min": 1,
        "02: 0 to 15 min": 2,
        "03: 15 to 30 min": 1,
        "04: 30 to 45 min": 1,
    }
    assert counts["nearest"] == dict.fromkeys(counts["fieldline"], 0) | {"02: 0 to 15 min": 1}
    assert histogram({"fieldline": [], "nearest": []}, 15) == {}


def test_the_report_draws_arrivals_against_the_promise() -> None:
    page = render_html({"seed": 1, "policies": {"fieldline": {"arrival_vs_promise_min": [-5.0, 12.0]}, "nearest": {}}})
    assert "Arrival against the promised ETA" in page
    assert "-15 to 0 min" in page and "0 to 15 min" in page
