"""The operator's kit under deploy/ matches the product it deploys.

- every series the Grafana dashboard and the alert rules query is one the product
  exports (metric names read out of the PromQL, compared with ``ZenithMetrics``);
- Prometheus scrapes every role on the port that role serves /metrics on;
- app.json runs the Procfile's processes, with PostgreSQL and Redis add-ons, and sets
  only settings the product reads; docker-compose runs the same processes.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from zenith.config import SETTINGS
from zenith.supervisor.specs import WORKER_POOLS
from zenith.telemetry.metrics import ZenithMetrics, role_metrics_port

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
ROOT = DEPLOY.parent
METRICS_PORT = 9100  # METRICS_PORT in docker-compose.yml

# series Prometheus itself makes for every target
PROMETHEUS_SERIES = {"up", "scrape_duration_seconds", "scrape_samples_scraped"}
PROMQL_WORDS = {
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "bool",
    "and",
    "or",
    "unless",
    "offset",
    "inf",
    "nan",
}
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'')
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_NAME = re.compile(r"(?<![\w:.])([A-Za-z_:][\w:]*)(?![\w:])(?!\s*\()")


def promql_metric_names(expr: str) -> set[str]:
    """The metric names ``expr`` selects: identifiers that are not functions, keywords,
    label names (inside ``{...}`` or a ``by (...)`` list) or durations."""
    text = _STRING.sub('""', expr)
    text = re.sub(r"\{[^}]*\}", "", text)
    text = re.sub(r"\[[^\]]*\]", "", text)
    text = _GROUPING.sub("", text)
    return {name for name in _NAME.findall(text) if name.lower() not in PROMQL_WORDS}


def exported_series() -> set[str]:
    """Every series name the product's registry exports, suffixes included."""
    suffixes = {
        "counter": ("_total", "_created"),
        "histogram": ("_bucket", "_sum", "_count", "_created"),
        "gauge": ("",),
        "summary": ("_sum", "_count", "_created"),
    }
    names: set[str] = set()
    for family in ZenithMetrics.create().registry.collect():  # a family per metric, children or not
        names.update(family.name + suffix for suffix in suffixes[family.type])
    return names


def dashboard_expressions() -> list[str]:
    dashboard = json.loads((DEPLOY / "grafana" / "dashboards" / "zenith.json").read_text(encoding="utf-8"))
    return [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]


def alert_expressions() -> list[str]:
    rules = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yml").read_text(encoding="utf-8"))
    return [rule["expr"] for group in rules["groups"] for rule in group["rules"]]


@pytest.mark.parametrize(
    ("expr", "names"),
    [
        ('sum by (status) (rate(video_submissions_total{platform="youtube"}[5m])) * 60', {"video_submissions_total"}),
        (
            "histogram_quantile(0.95, sum by (le, platform) (rate(video_processing_seconds_bucket[5m])))",
            {"video_processing_seconds_bucket"},
        ),
        ('a_total / on (job) group_left b unless c{x="by (y)"} offset 5m', {"a_total", "b", "c"}),
        ("up == 0", {"up"}),
    ],
)
def test_metric_names_are_read_out_of_promql(expr, names):
    assert promql_metric_names(expr) == names


def test_the_dashboard_shows_what_operators_asked_for():
    queried = {name for expr in dashboard_expressions() for name in promql_metric_names(expr)}
    wanted = {
        "video_submissions_total",
        "video_processing_seconds_bucket",
        "queue_depth",
        "dramatiq_message_retries_total",
        "payouts_total",
        "platform_errors_total",
        "bot_update_seconds_bucket",
        "active_users",
    }
    assert wanted <= queried, f"the dashboard lacks {sorted(wanted - queried)}"


@pytest.mark.parametrize("source", ["dashboard", "alerts"])
def test_every_series_queried_is_one_the_product_exports(source):
    expressions = dashboard_expressions() if source == "dashboard" else alert_expressions()
    assert expressions
    exported = exported_series() | PROMETHEUS_SERIES
    unknown = {name: expr for expr in expressions for name in promql_metric_names(expr) if name not in exported}
    assert not unknown, f"{source} queries series no process exports: {unknown}"


def test_alert_rules_are_complete():
    rules = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yml").read_text(encoding="utf-8"))
    for group in rules["groups"]:
        for rule in group["rules"]:
            assert (
                rule["alert"].startswith("Zenith")
                and rule["annotations"]["summary"]
                and rule["labels"]["severity"] in {"page", "warn"}
            )


def test_prometheus_scrapes_every_role_on_its_port():
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text(encoding="utf-8"))
    targets = {
        target for job in config["scrape_configs"] for group in job["static_configs"] for target in group["targets"]
    }
    assert config["rule_files"] == ["/etc/prometheus/alerts.yml"]
    expected = {
        "web:8080",
        f"clock:{role_metrics_port(METRICS_PORT, role='clock')}",
        f"worker:{role_metrics_port(METRICS_PORT, role='bot')}",
    }
    expected |= {f"worker:{role_metrics_port(METRICS_PORT, role=f'worker-{pool}')}" for pool, _ in WORKER_POOLS}
    assert expected <= targets, f"not scraped: {sorted(expected - targets)}"


def _procfile_processes() -> dict[str, str]:
    lines = (ROOT / "Procfile").read_text(encoding="utf-8").splitlines()
    return dict(line.split(": ", 1) for line in lines if line.strip())


def test_app_json_runs_the_procfile_with_postgresql_and_redis():
    app = json.loads((DEPLOY / "app.json").read_text(encoding="utf-8"))
    processes = _procfile_processes()
    assert processes["release"] == "zenith migrate"  # Heroku runs it before every release
    assert set(app["formation"]) == set(processes) - {"release"}
    assert all(entry["quantity"] >= 1 for entry in app["formation"].values())
    plans = [addon["plan"].split(":")[0] for addon in app["addons"]]
    assert plans == ["heroku-postgresql", "heroku-redis"]
    known = {setting.env for setting in SETTINGS}
    assert set(app["env"]) <= known, (
        f"app.json sets variables the product never reads: {sorted(set(app['env']) - known)}"
    )


def test_compose_runs_the_procfile_and_the_operators_tools():
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text(encoding="utf-8"))
    services = compose["services"]
    assert {"postgres", "redis", "jaeger", "prometheus", "grafana"} <= set(services)
    for name, command in _procfile_processes().items():
        assert services[name]["command"] == command.split(), name
    environment = services["web"]["environment"]
    assert (
        environment["METRICS_PORT"] == str(METRICS_PORT)
        and environment["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://jaeger:4318"
    )
    assert set(environment) <= {setting.env for setting in SETTINGS}
