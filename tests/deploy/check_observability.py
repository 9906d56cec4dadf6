#!/usr/bin/env python3
"""Checks deploy/grafana/tact-dashboard.json and deploy/alerts.yaml against the metrics tactd exports.

The exported set is read from the source's metric tables (the X-macro lists COUNTER/GAUGE/HISTOGRAM(name, help,
(labels)) in daemon/**/*.h, daemon/ops/metrics.h): complete, where a fresh tactd's /metrics lists only the families
that have a series yet. A live tactd (with redis-server and tact-devbroker, as tests/support starts them) keeps the
tables honest: every family it exports must be in them, with the same type, and every unlabelled family of the
tables must be exported. Metrics another branch adds (Redis Cluster) come from tests/deploy/metrics_allowlist.txt.

Checks: the dashboard loads as JSON and has the Grafana schema basics (panels with gridPos inside 24 columns and not
overlapping, unique ids, targets with expr and unique refIds, a Prometheus datasource variable every target uses);
every metric named in a dashboard expr, a template query or an alert expr is exported, and every label it selects or
aggregates by is one of that metric's labels (or instance/job, le for buckets). --self-test checks that each check
finds a broken copy. Usage: check_observability.py SOURCE_DIR TACTD_BIN DEVBROKER_BIN | --self-test SOURCE_DIR"""
import copy
import glob
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

import yaml

TARGET_LABELS = {"instance", "job"}  # added by Prometheus' scrape, on every series
KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "bool", "offset",
            "inf", "nan"}


# --- the exported set -------------------------------------------------------------------------------------------

def metric_tables(src):
    """{family name: (type, [labels])} from every COUNTER/GAUGE/HISTOGRAM(...) entry of daemon/**/*.h."""
    families = {}
    entry = re.compile(r'\b(COUNTER|GAUGE|HISTOGRAM)\(\s*(\w+)\s*,\s*(?:"(?:[^"\\]|\\.)*"\s*)+,\s*\(([^)]*)\)\s*\)')
    for path in glob.glob(os.path.join(src, "daemon", "**", "*.h"), recursive=True):
        with open(path) as f:
            text = f.read().replace("\\\n", " ")
        for kind, name, labels in entry.findall(text):
            if name == "name":  # the macro's own documentation in metrics.h
                continue
            families["tact_" + name] = (kind.lower(), [l.strip() for l in labels.split(",") if l.strip()])
    return families


def allowlist(path):
    families = {}
    with open(path) as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if line:
                name, kind, labels = line.split()
                families[name] = (kind, [] if labels == "-" else labels.split(","))
    return families


def series_names(families):
    """Names a scrape carries: a histogram's _bucket, _sum and _count; the others' own."""
    out = {}
    for name, (kind, labels) in families.items():
        if kind == "histogram":
            out[name + "_bucket"] = labels + ["le"]
            out[name + "_sum"] = labels
            out[name + "_count"] = labels
        else:
            out[name] = labels
    return out


# --- PromQL (enough of it: names, selectors, grouping clauses) --------------------------------------------------

STRING = r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\''
GROUPING = r"\b(by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)"


def metric_names(expr):
    """Every metric name in a PromQL expression (identifiers that are not functions, keywords or labels)."""
    s = re.sub(STRING, " ", expr)
    s = re.sub(r"\$\{[^}]*\}|\$\w+", " ", s)  # Grafana variables
    s = re.sub(r"\{[^}]*\}", " ", s)  # label matchers
    s = re.sub(r"\[[^\]]*\]", " ", s)  # ranges and subqueries
    s = re.sub(GROUPING, " ", s)
    s = re.sub(r"\b\d+(\.\d+)?([eE][+-]?\d+)?[smhdwy]?\b", " ", s)  # numbers and durations
    names = []
    for m in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", s):
        rest = s[m.end():].lstrip()
        if m.group(0).lower() in KEYWORDS or rest.startswith("("):
            continue
        names.append(m.group(0))
    return names


def expr_problems(where, expr, known):
    """What is wrong with one expression: unknown metrics, labels no metric of it carries."""
    problems = []
    names = metric_names(expr)
    if not names:
        problems.append("%s: names no metric: %s" % (where, expr))
    for n in names:
        if n not in known:
            problems.append("%s: %s is not a metric tactd exports" % (where, n))
    for name, matchers in re.findall(r"\b([A-Za-z_:][A-Za-z0-9_:]*)\s*\{([^}]*)\}", re.sub(STRING, '""', expr)):
        for label in re.findall(r"(\w+)\s*(?:=~|!~|!=|=)", matchers):
            if name in known and label not in known[name] and label not in TARGET_LABELS:
                problems.append("%s: %s has no label %s (it has %s)" % (where, name, label, known[name]))
    carried = set(TARGET_LABELS)
    for n in names:
        carried.update(known.get(n, []))
    for _, labels in re.findall(GROUPING, re.sub(STRING, '""', expr)):
        for label in (l.strip() for l in labels.split(",")):
            if label and label not in carried:
                problems.append("%s: no metric of it has the label %s" % (where, label))
    return problems


# --- the dashboard ----------------------------------------------------------------------------------------------

def dashboard_exprs(dash):
    """(where, expr) of every target and of every query variable."""
    out = []
    for p in dash.get("panels", []):
        for t in p.get("targets", []):
            out.append(("panel %s %r target %s" % (p.get("id"), p.get("title"), t.get("refId")), t.get("expr", "")))
    for v in dash.get("templating", {}).get("list", []):
        if v.get("type") == "query":
            q = v["query"]["query"] if isinstance(v["query"], dict) else v["query"]
            m = re.fullmatch(r"label_values\((.*),\s*(\w+)\)", q)
            out.append(("variable %s" % v["name"], m.group(1) if m else q))
    return out


def dashboard_problems(dash):
    """The Grafana schema basics a dashboard needs to import and show every panel."""
    problems = []
    for key in ("title", "uid", "schemaVersion", "panels", "templating"):
        if key not in dash:
            problems.append("dashboard: no %s" % key)
    variables = {v.get("name"): v for v in dash.get("templating", {}).get("list", [])}
    ds = [n for n, v in variables.items() if v.get("type") == "datasource" and v.get("query") == "prometheus"]
    if not ds:
        problems.append("dashboard: no Prometheus datasource variable")
    ids = [p.get("id") for p in dash.get("panels", [])]
    for i in sorted({i for i in ids if ids.count(i) > 1}, key=str):
        problems.append("dashboard: panel id %s is not unique" % i)
    cells = {}
    for p in dash.get("panels", []):
        where = "panel %s %r" % (p.get("id"), p.get("title"))
        g = p.get("gridPos")
        if not isinstance(g, dict) or not all(isinstance(g.get(k), int) for k in "hwxy"):
            problems.append("%s: no gridPos {h, w, x, y}" % where)
            continue
        if g["x"] < 0 or g["w"] <= 0 or g["h"] <= 0 or g["x"] + g["w"] > 24:
            problems.append("%s: gridPos outside the 24 columns: %s" % (where, g))
        for x in range(g["x"], g["x"] + g["w"]):
            for y in range(g["y"], g["y"] + g["h"]):
                if (x, y) in cells:
                    problems.append("%s overlaps %s" % (where, cells[(x, y)]))
                    break
                cells[(x, y)] = where
            else:
                continue
            break
        if p.get("type") == "row":
            continue
        if not p.get("type") or not p.get("title"):
            problems.append("%s: no type or title" % where)
        targets = p.get("targets") or []
        if not targets:
            problems.append("%s: no targets" % where)
        refs = [t.get("refId") for t in targets]
        if len(set(refs)) != len(refs) or None in refs:
            problems.append("%s: refIds missing or not unique: %s" % (where, refs))
        for t in targets:
            if not str(t.get("expr", "")).strip():
                problems.append("%s target %s: no expr" % (where, t.get("refId")))
            source = t.get("datasource") or p.get("datasource") or {}
            if ds and source.get("uid") != "${%s}" % ds[0]:
                problems.append("%s target %s: datasource is not ${%s}" % (where, t.get("refId"), ds[0]))
    return problems


def alert_exprs(alerts):
    return [("alert %s" % r.get("alert", r.get("record")), r["expr"]) for g in alerts["groups"] for r in g["rules"]]


# --- a live tactd -----------------------------------------------------------------------------------------------

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what, predicate, seconds=20):
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            raise RuntimeError("timed out waiting for " + what)
        time.sleep(0.05)  # poll interval; the deadline above bounds the wait


def read(path):
    try:
        with open(path) as f:
            return f.read()
    except FileNotFoundError:
        return ""


def live_families(src, tactd, devbroker, want=()):
    """{family: type} of a fresh tactd's /metrics (redis-server and tact-devbroker on loopback, as tests/support);
    scraped again until it lists every family of `want` or 10 s have passed (a part may make its series just after
    tactd.started)."""
    with tempfile.TemporaryDirectory(prefix="tact-observability-") as d:
        procs = []
        try:
            redis_port = free_port()
            procs.append(subprocess.Popen(["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1",
                                           "--save", "", "--appendonly", "no", "--dir", d],
                                          stdout=open(os.path.join(d, "redis.log"), "w"), stderr=subprocess.STDOUT))
            boot = os.path.join(d, "bootstrap")
            procs.append(subprocess.Popen([devbroker, "--partitions", "1", "--bootstrap-file", boot],
                                          stdout=open(os.path.join(d, "broker.log"), "w"), stderr=subprocess.STDOUT))
            wait_for("redis-server", lambda: "Ready to accept connections" in read(os.path.join(d, "redis.log")))
            wait_for("tact-devbroker", lambda: read(boot).strip() != "")
            admin = free_port()
            log = os.path.join(d, "tactd.log")
            env = {k: v for k, v in os.environ.items() if not k.startswith("TACT_")}
            env["TACT_CUSTOMER_HASH_KEY"] = "test-key-not-secret"
            tactd_proc = subprocess.Popen(
                [tactd, "--kafka-brokers", read(boot).strip(), "--redis", "127.0.0.1:%d" % redis_port,
                 "--grpc-listen", "127.0.0.1:%d" % free_port(), "--admin-listen", "127.0.0.1:%d" % admin,
                 "--grpc-plaintext", "true", "--policies", os.path.join(src, "policies/default")],
                env=env, stdout=open(log, "w"), stderr=subprocess.STDOUT)
            procs.append(tactd_proc)
            wait_for("tactd started", lambda: '"tactd.started"' in read(log) or tactd_proc.poll() is not None)
            if tactd_proc.poll() is not None:
                raise RuntimeError("tactd exited: " + read(log)[-2000:])
            live = {}

            def scrape():
                text = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % admin, timeout=10).read().decode()
                live.update(re.findall(r"^# TYPE (\S+) (\S+)$", text, re.M))
                return set(want) <= set(live)

            try:
                wait_for("every family on /metrics", scrape, seconds=10)
            except RuntimeError:
                pass  # the caller reports the families still missing
        finally:
            for p in reversed(procs):
                p.kill()
                p.wait()
    return live


# --- the checks -------------------------------------------------------------------------------------------------

class Observability(unittest.TestCase):
    src = tactd = devbroker = None

    @classmethod
    def setUpClass(cls):
        cls.tables = metric_tables(cls.src)
        cls.allowed = allowlist(os.path.join(cls.src, "tests/deploy/metrics_allowlist.txt"))
        cls.known = series_names(dict(cls.tables, **cls.allowed))
        with open(os.path.join(cls.src, "deploy/grafana/tact-dashboard.json")) as f:
            cls.dashboard = json.load(f)
        with open(os.path.join(cls.src, "deploy/alerts.yaml")) as f:
            cls.alerts = yaml.safe_load(f)

    def test_the_tables_are_what_a_live_tactd_exports(self):
        self.assertGreater(len(self.tables), 30, "the metric tables were not found")
        unlabelled = [name for name, (_, labels) in self.tables.items() if not labels]
        live = live_families(self.src, self.tactd, self.devbroker, want=unlabelled)
        self.assertGreater(len(live), 10, "a fresh tactd exports its unlabelled families at least")
        for name, kind in live.items():
            self.assertIn(name, self.tables, "tactd exports %s but no metric table declares it" % name)
            self.assertEqual(kind, self.tables[name][0], name)
        for name, (kind, labels) in self.tables.items():
            if not labels:
                self.assertIn(name, live, "declared without labels, so exported from the start, but not by tactd")

    def test_the_allowlist_holds_only_undeclared_metrics(self):
        declared = sorted(set(self.allowed) & set(self.tables))
        self.assertFalse(declared, "declared by the metric tables now: remove them from tests/deploy/"
                                   "metrics_allowlist.txt (and check their labels): %s" % declared)

    def test_dashboard_schema(self):
        self.assertEqual(dashboard_problems(self.dashboard), [])

    def test_dashboard_names_exported_metrics_and_labels(self):
        problems = [p for where, e in dashboard_exprs(self.dashboard) for p in expr_problems(where, e, self.known)]
        self.assertEqual(problems, [])

    def test_alerts_name_exported_metrics_and_labels(self):
        problems = [p for where, e in alert_exprs(self.alerts) for p in expr_problems(where, e, self.known)]
        self.assertEqual(problems, [])


class SelfTest(unittest.TestCase):
    """Each check finds a broken copy of the real files."""
    src = None

    @classmethod
    def setUpClass(cls):
        cls.known = series_names(dict(metric_tables(cls.src),
                                      **allowlist(os.path.join(cls.src, "tests/deploy/metrics_allowlist.txt"))))
        with open(os.path.join(cls.src, "deploy/grafana/tact-dashboard.json")) as f:
            cls.dashboard = json.load(f)
        with open(os.path.join(cls.src, "deploy/alerts.yaml")) as f:
            cls.alerts = yaml.safe_load(f)

    def first_graph(self, dash):
        return next(p for p in dash["panels"] if p["type"] != "row")

    def broken(self, change):
        dash = copy.deepcopy(self.dashboard)
        change(dash)
        return dashboard_problems(dash) + [p for where, e in dashboard_exprs(dash)
                                           for p in expr_problems(where, e, self.known)]

    def test_the_real_files_pass(self):
        self.assertEqual(self.broken(lambda d: None), [])

    def test_finds_schema_faults(self):
        def dup_id(d):
            self.first_graph(d)["id"] = d["panels"][0]["id"]
        faults = {
            "not unique": dup_id,
            "no gridPos": lambda d: self.first_graph(d).pop("gridPos"),
            "outside the 24 columns": lambda d: self.first_graph(d)["gridPos"].update(x=22),
            "no expr": lambda d: self.first_graph(d)["targets"][0].pop("expr"),
            "no targets": lambda d: self.first_graph(d).update(targets=[]),
            "no Prometheus datasource variable": lambda d: d["templating"]["list"].pop(0),
            "datasource is not": lambda d: self.first_graph(d)["targets"][0].update(datasource={"uid": "prom1"}),
            "overlaps": lambda d: d["panels"][2]["gridPos"].update(x=d["panels"][1]["gridPos"]["x"]),
        }
        for what, change in faults.items():
            problems = self.broken(change)
            self.assertTrue(any(what in p for p in problems), "%s not found: %s" % (what, problems))

    def test_finds_unknown_metrics_and_labels(self):
        def retarget(expr):
            return lambda d: self.first_graph(d)["targets"][0].update(expr=expr)
        faults = {
            "tact_decisons_total is not a metric": retarget('sum(rate(tact_decisons_total[5m]))'),
            "tact_redis_call_duration_seconds is not a metric": retarget(
                'histogram_quantile(0.9, sum by (le) (rate(tact_redis_call_duration_seconds[5m])))'),
            "tac_ready is not a metric": retarget('sum(tac_ready)'),
            "has no label topic": retarget('sum(rate(tact_decisions_total{topic="x"}[5m]))'),
            "has the label partition": retarget('sum by (partition) (rate(tact_decisions_total[5m]))'),
            "names no metric": retarget('vector(1)'),
        }
        for what, change in faults.items():
            problems = self.broken(change)
            self.assertTrue(any(what in p for p in problems), "%s not found: %s" % (what, problems))
        self.assertEqual(expr_problems("x", 'sum by (le) (rate(tact_decision_duration_seconds_bucket[5m]))',
                                       self.known), [])

    def test_finds_a_broken_alert(self):
        alerts = copy.deepcopy(self.alerts)
        alerts["groups"][0]["rules"][0]["expr"] = "tact_redy == 0"
        problems = [p for where, e in alert_exprs(alerts) for p in expr_problems(where, e, self.known)]
        self.assertTrue(any("tact_redy is not a metric" in p for p in problems), problems)

    def test_reads_every_table_entry_form(self):
        families = metric_tables(self.src)
        self.assertEqual(families["tact_decisions_total"], ("counter", ["source", "decision", "rule"]))
        self.assertEqual(families["tact_redis_up"], ("gauge", []))
        self.assertEqual(families["tact_kafka_delivery_failures_total"][1], ["topic"])  # help on two lines
        self.assertEqual(families["tact_grpc_request_duration_seconds"], ("histogram", ["method"]))


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--self-test":
        SelfTest.src = sys.argv[2]
        suite = unittest.defaultTestLoader.loadTestsFromTestCase(SelfTest)
    else:
        Observability.src, Observability.tactd, Observability.devbroker = sys.argv[1:4]
        suite = unittest.defaultTestLoader.loadTestsFromTestCase(Observability)
    sys.exit(0 if unittest.TextTestRunner(verbosity=2).run(suite).wasSuccessful() else 1)
