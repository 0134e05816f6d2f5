"""The deployment files stay valid and in step with the settings: compose.yaml against the Compose
Specification schema, the Dockerfile's shape, the Prometheus rules against the metrics the portal exports, the
systemd units; every variable they set is a setting the portal reads, and every setting is in README's table."""
from __future__ import annotations

import configparser
import json
import re
from pathlib import Path

import jsonschema
import pytest
import yaml

from portal.jobs.queue import QUEUES

ROOT = Path(__file__).resolve().parents[2]
# Variables that are not portal settings but belong to the runtime around it
RUNTIME = {"PATH", "PYTHONPATH", "PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED", "FLASK_APP", "QUEUES",
           "PROMETHEUS_MULTIPROC_DIR", "PIP_NO_CACHE_DIR", "PIP_DISABLE_PIP_VERSION_CHECK"}


def settings_read_by_the_code() -> set[str]:
    names = set()
    for path in [*sorted((ROOT / "portal").rglob("*.py")), ROOT / "gunicorn.conf.py"]:
        text = path.read_text()
        names |= set(re.findall(r'(?:environ\.get|_int|environ\[)\(?\s*["\']([A-Z][A-Z0-9_]+)["\']', text))
    return names


def settings_in_readme() -> set[str]:
    names = set()
    for line in (ROOT / "README.md").read_text().splitlines():
        if line.startswith("| `"):
            first = line.split("|")[1]
            names |= set(re.findall(r"`([A-Z][A-Z0-9_]+)`", first))
    return names


def compose() -> dict:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


def test_every_setting_is_documented_and_every_documented_one_is_read():
    code, readme = settings_read_by_the_code(), settings_in_readme()
    assert code - readme == set(), "read by the code but missing in README's settings table"
    assert readme - code - {"HOST", "PORT"} == set(), "in README's table but read by nothing"


def test_compose_file_is_valid_compose():
    schema = json.loads((ROOT / "tests/ops/data/compose_spec.json").read_text())
    errors = [e.message for e in jsonschema.Draft201909Validator(schema).iter_errors(compose())]
    assert errors == []


def test_the_schema_check_would_catch_a_mistake():
    schema = json.loads((ROOT / "tests/ops/data/compose_spec.json").read_text())
    doc = compose()
    doc["services"]["web1"]["healthchek"] = {}
    assert list(jsonschema.Draft201909Validator(schema).iter_errors(doc))


def _portal_services(doc):
    return {n: s for n, s in doc["services"].items() if s.get("image", "").startswith("procurement-portal")}


def test_compose_topology():
    doc = compose()
    services = doc["services"]
    assert {"postgres", "redis", "minio"} <= set(services)
    assert "--appendonly" in services["redis"]["command"] and services["redis"]["volumes"]
    assert services["postgres"]["volumes"] and services["minio"]["volumes"]
    portal = _portal_services(doc)
    webs = [n for n, s in portal.items() if "command" not in s]
    assert len(webs) == 2
    for n in webs:
        assert "/readyz" in " ".join(services[n]["healthcheck"]["test"])
    commands = {n: " ".join(s["command"]) for n, s in portal.items() if "command" in s}
    served = set()
    for n, c in commands.items():
        if "jobs worker" in c:
            served |= set(re.findall(r"-q (\w+)", c))
    assert served == set(QUEUES), "every queue has a worker"
    assert [n for n, c in commands.items() if "jobs scheduler" in c] == ["scheduler"]
    upgrades = [n for n, c in commands.items() if "db upgrade" in c]
    assert upgrades == ["migrate"] and services["migrate"]["restart"] == "no"  # once per deployment


def test_compose_and_dockerfile_set_only_known_settings():
    known = settings_read_by_the_code() | RUNTIME
    env = {}
    for s in _portal_services(compose()).values():
        env.update(s.get("environment") or {})
    assert set(env) - known == set()
    assert env["PORTAL_STORAGE"] == "s3" and env["PORTAL_JOBS_MODE"] == "rq"
    example = [line.split("=", 1)[0] for line in (ROOT / "deploy/portal.env.example").read_text().splitlines()
               if line and not line.startswith("#")]
    assert set(example) - known == set()
    docker_env = set(re.findall(r"^\s+([A-Z][A-Z0-9_]+)=", (ROOT / "Dockerfile").read_text(), re.M))
    docker_env |= set(re.findall(r"^ENV ([A-Z][A-Z0-9_]+)=", (ROOT / "Dockerfile").read_text(), re.M))
    assert docker_env and docker_env - known == set()


def test_dockerfile_shape():
    text = (ROOT / "Dockerfile").read_text()
    stages = re.findall(r"^FROM (\S+)", text, re.M)
    assert stages and all(s.endswith("-slim") or "-slim" in s for s in stages)
    final = text[text.rindex("\nFROM "):]
    user = re.findall(r"^USER (\S+)", final, re.M)
    assert user and user[-1] not in ("root", "0"), "runs as a non-root user"
    for pkg in ("libpango-1.0-0", "libpangoft2-1.0-0", "libharfbuzz0b", "fonts-dejavu-core", "fonts-liberation"):
        assert pkg in final, pkg
    assert "rm -rf /var/lib/apt/lists/*" in final
    for src in re.findall(r"^COPY (?!--from)(?:--\S+ )*(.+) \S+$", text, re.M):
        for part in src.split():
            assert (ROOT / part).exists(), f"COPY {part}: not in the repository"
    assert 'CMD ["gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"]' in text
    assert re.search(r"^EXPOSE 8000$", text, re.M) and "PORT=8000" in text


def test_gunicorn_conf_settings(monkeypatch):
    import os

    monkeypatch.setattr(os, "environ", dict(os.environ))  # the file sets PROMETHEUS_MULTIPROC_DIR: not for us
    ns: dict = {}
    exec(compile((ROOT / "gunicorn.conf.py").read_text(), "gunicorn.conf.py", "exec"), ns)
    assert ns["worker_class"] == "gthread" and ns["workers"] >= 1 and ns["threads"] >= 1
    assert ns["graceful_timeout"] > 0 and ns["timeout"] > ns["graceful_timeout"] / 2
    assert callable(ns["child_exit"]) and ns["preload_app"] is False
    assert json.loads(ns["access_log_format"])["request_id"]


@pytest.fixture
def exported_metric_names(app, client):
    from prometheus_client.parser import text_string_to_metric_families

    app.config["METRICS_TOKEN"] = "t"
    try:
        client.get("/healthz")
        body = client.get("/metrics", headers={"Authorization": "Bearer t"}).get_data(as_text=True)
    finally:
        app.config["METRICS_TOKEN"] = ""
    names = set()
    for fam in text_string_to_metric_families(body):
        names |= {s.name for s in fam.samples} | {fam.name}
        if fam.type == "counter":
            names.add(fam.name + "_total")
        if fam.type == "histogram":
            names |= {fam.name + suffix for suffix in ("_bucket", "_count", "_sum")}
    return names


def test_alert_rules_use_metrics_the_portal_exports(exported_metric_names):
    doc = yaml.safe_load((ROOT / "deploy/prometheus/portal-alerts.yml").read_text())
    rules = [r for g in doc["groups"] for r in g["rules"]]
    assert len(rules) >= 5
    for r in rules:
        assert r["alert"] and r["expr"] and r["labels"]["severity"] and r["annotations"]["summary"]
        for name in re.findall(r"\bportal_[a-z_]+", r["expr"]):
            assert name in exported_metric_names, (r["alert"], name)
    text = " ".join(r["expr"] for r in rules)
    for needed in ("portal_queue_oldest_job_age_seconds", "portal_jobs_total", "status=~\"5..\"", "readyz"):
        assert needed in text or needed in json.dumps(doc), needed


def test_systemd_units():
    units = sorted((ROOT / "deploy/systemd").glob("*.service"))
    assert {u.name for u in units} >= {"portal-web.service", "portal-worker@.service",
                                        "portal-scheduler.service", "portal-migrate.service"}
    for u in units:
        cp = configparser.ConfigParser(strict=False, interpolation=None)
        cp.optionxform = str
        cp.read_string(u.read_text())
        svc = cp["Service"]
        assert svc["ExecStart"].split()[0].startswith(("/opt/portal/.venv/bin/", "/bin/sh"))
        assert svc.get("User") == "portal"
    web = (ROOT / "deploy/systemd/portal-web.service").read_text()
    assert "gunicorn -c gunicorn.conf.py" in web and "PROMETHEUS_MULTIPROC_DIR" in web
