"""The Grafana dashboard and the Prometheus alert rules parse, and every series and label they query is one that
shared/metrics.py defines (a renamed metric must not silently empty a panel or disarm an alert)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from shared.metrics import FieldlineMetrics

HERE = Path(__file__).resolve().parents[2] / "deploy" / "observability"
SERIES = re.compile(r"\b((?:fieldline|http_server)_[a-z0-9_]+)\s*(\{[^}]*\})?")
MATCHER = re.compile(r"([a-z_]+)\s*(?:=~|!~|!=|=)\s*\"")
GROUPING = re.compile(r"\b(?:by|without)\s*\(([^)]*)\)")
PROMQL_LABELS = {"le"}  # histogram buckets' own label


def exposed() -> dict[str, set[str]]:
    """Every series name the metrics expose, with its labels."""
    metrics = FieldlineMetrics(CollectorRegistry())
    series: dict[str, set[str]] = {}
    for metric in vars(metrics).values():
        if not isinstance(metric, Counter | Gauge | Histogram):
            continue
        name, labels = metric._name, set(metric._labelnames)  # the registry lists no label names of empty families
        if isinstance(metric, Counter):
            series[f"{name}_total"] = labels
        elif isinstance(metric, Histogram):
            for suffix in ("_bucket", "_count", "_sum"):
                series[name + suffix] = labels | ({"le"} if suffix == "_bucket" else set())
        else:
            series[name] = labels
    return series


def dashboard_exprs() -> list[tuple[str, str]]:
    dashboard = json.loads((HERE / "grafana-dashboard.json").read_text())
    return [(p["title"], t["expr"]) for p in dashboard["panels"] for t in p.get("targets", [])]


def alert_rules() -> list[dict[str, Any]]:
    rules = yaml.safe_load((HERE / "alerts.yaml").read_text())
    return [rule for group in rules["groups"] for rule in group["rules"]]


def check_expr(expr: str, series: dict[str, set[str]]) -> list[str]:
    problems = []
    if expr.count("(") != expr.count(")") or expr.count("{") != expr.count("}"):
        problems.append("unbalanced brackets")
    referenced = SERIES.findall(expr)
    if not referenced:
        problems.append("queries no Fieldline series")
    known_labels = set(PROMQL_LABELS)
    for name, matchers in referenced:
        if name not in series:
            problems.append(f"{name} is not defined in shared/metrics.py")
            continue
        known_labels |= series[name]
        for label in MATCHER.findall(matchers):
            if label not in series[name]:
                problems.append(f"{name} has no label {label!r}")
    for grouping in GROUPING.findall(expr):
        for label in filter(None, (part.strip() for part in grouping.split(","))):
            if label not in known_labels:
                problems.append(f"grouping by {label!r}, which no queried series has")
    return problems


def test_the_checker_catches_a_wrong_name_and_label() -> None:
    series = exposed()
    assert check_expr("sum by (consumer) (rate(fieldline_consumer_acks_total[5m]))", series) == []
    assert check_expr("rate(fieldline_consumer_ack_total[5m])", series) != []
    assert check_expr('rate(fieldline_consumer_acks_total{route="x"}[5m])', series) != []
    assert check_expr("sum by (route) (rate(fieldline_consumer_acks_total[5m]))", series) != []


@pytest.mark.parametrize(("title", "expr"), dashboard_exprs())
def test_dashboard_queries_defined_metrics(title: str, expr: str) -> None:
    assert check_expr(expr, exposed()) == [], title


def test_dashboard_panels_have_unique_ids_and_cover_the_areas() -> None:
    dashboard = json.loads((HERE / "grafana-dashboard.json").read_text())
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    rows = {p["title"] for p in dashboard["panels"] if p["type"] == "row"}
    assert {"Service health", "Messaging", "Dispatch"} <= rows


@pytest.mark.parametrize("rule", alert_rules(), ids=lambda rule: rule["alert"])
def test_alert_rules_query_defined_metrics_and_go_to_operators(rule: dict[str, Any]) -> None:
    assert check_expr(rule["expr"], exposed()) == []
    assert rule["labels"]["team"] == "operations", "alerts go to operators, not to dispatchers"
    assert rule["labels"]["severity"] in {"page", "ticket"}
    assert rule["annotations"]["summary"]
    assert re.fullmatch(r"\d+[smh]", rule.get("for", "0s"))


def test_the_issue_s_alerts_exist() -> None:
    exprs = " ".join(rule["expr"] for rule in alert_rules())
    for needle in (
        "fieldline_outbox_oldest_pending_age_seconds",
        "fieldline_consumer_dead_letters_total",
        "fieldline_consumer_pending_messages",
        "sla_at_risk",
        'status=~"5.."',
    ):
        assert needle in exprs, needle
