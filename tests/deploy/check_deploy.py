#!/usr/bin/env python3
"""Checks deploy/: the Dockerfile's structure, the compose file (docker-compose config), and the Kubernetes
manifests as YAML with the fields the probes and ports depend on. Usage: check_deploy.py SOURCE_DIR TACTD_BIN"""
import filecmp
import os
import re
import subprocess
import sys
import unittest

import yaml

SRC = sys.argv[1] if len(sys.argv) > 1 else "."
TACTD = sys.argv[2] if len(sys.argv) > 2 else "build/tactd"
DEPLOY = os.path.join(SRC, "deploy")
K8S = os.path.join(DEPLOY, "k8s")


def load_all(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


def tactd_config(env):
    """tactd --print-config under `env` (TACT_* only): the effective settings as a dict."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TACT_")}
    clean.update(env)
    out = subprocess.run([TACTD, "--print-config"], env=clean, capture_output=True, text=True, check=True).stdout
    return dict(line.split(": ", 1) for line in out.splitlines())


class Dockerfile(unittest.TestCase):
    def setUp(self):
        with open(os.path.join(DEPLOY, "Dockerfile")) as f:
            self.lines = [l.strip() for l in f.read().replace("\\\n", " ").splitlines()
                          if l.strip() and not l.strip().startswith("#")]

    def instructions(self, name):
        return [l for l in self.lines if l.split()[0].upper() == name]

    def test_stages(self):
        froms = self.instructions("FROM")
        self.assertEqual(len(froms), 2, froms)
        self.assertRegex(froms[0], r"^FROM debian:12 AS build$")
        self.assertRegex(froms[1], r"^FROM debian:12-slim AS runtime$")

    def test_builder_uses_the_ci_install_script_and_cmake(self):
        build = self.lines[:self.lines.index(self.instructions("FROM")[1])]
        self.assertTrue(any("deploy/install-deps.sh" in l and l.startswith("RUN") for l in build))
        self.assertTrue(any("cmake -S . -B build -G Ninja" in l for l in build))

    def test_runtime(self):
        runtime = self.lines[self.lines.index(self.instructions("FROM")[1]):]
        self.assertTrue(any("install-deps.sh --runtime" in l for l in runtime))
        users = [l for l in runtime if l.startswith("USER")]
        self.assertEqual(len(users), 1)
        self.assertNotIn(users[0].split()[1].split(":")[0], ("0", "root"))
        entry = [l for l in runtime if l.startswith("ENTRYPOINT")]
        self.assertEqual(len(entry), 1)
        self.assertIn('"/usr/bin/tini", "--", "tactd"', entry[0])
        copies = [l for l in runtime if l.startswith("COPY --from=build")]
        self.assertTrue(copies and all("/opt/tact/" in l for l in copies), copies)

    def test_healthcheck_probes_readiness_on_the_admin_port(self):
        hc = self.instructions("HEALTHCHECK")
        self.assertEqual(len(hc), 1)
        self.assertIn('"tactctl", "health"', hc[0])
        env = " ".join(self.instructions("ENV"))
        admin = re.search(r"TACT_ADMIN_LISTEN=(\S+)", env).group(1)
        self.assertIn("127.0.0.1:" + admin.rsplit(":", 1)[1], hc[0])
        exposed = " ".join(self.instructions("EXPOSE")).split()[1:]
        grpc = re.search(r"TACT_GRPC_LISTEN=(\S+)", env).group(1)
        self.assertEqual(sorted(exposed), sorted([grpc.rsplit(":", 1)[1], admin.rsplit(":", 1)[1]]))

    def test_runtime_packages_cover_what_tactd_links(self):
        with open(os.path.join(DEPLOY, "install-deps.sh")) as f:
            text = f.read()
        runtime = re.search(r"runtime_pkgs=\(([^)]*)\)", text).group(1).split()
        for pkg in ("tini", "ca-certificates", "tzdata", "librdkafka++1", "libhiredis0.14", "libgrpc++1.51",
                    "libprometheus-cpp-core1.0", "libcpp-httplib0.11", "libabsl20220623", "libssl3"):
            self.assertIn(pkg, runtime)


class Compose(unittest.TestCase):
    path = os.path.join(DEPLOY, "compose.yaml")

    def test_docker_compose_config_accepts_it(self):
        r = subprocess.run(["docker-compose", "-f", self.path, "config", "--quiet"], capture_output=True, text=True,
                           cwd=DEPLOY)
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_services(self):
        doc = load_all(self.path)[0]
        s = doc["services"]
        self.assertTrue(s["kafka"]["image"].startswith("apache/kafka:"))
        self.assertIn("broker,controller", s["kafka"]["environment"]["KAFKA_PROCESS_ROLES"])
        self.assertIn("--appendonly", " ".join(s["redis"]["command"]))
        self.assertEqual(s["topics"]["restart"], "no")
        self.assertEqual(s["tactd"]["depends_on"]["topics"]["condition"], "service_completed_successfully")
        self.assertTrue(any(v.endswith(":/etc/tact/policies:ro") for v in s["tactd"]["volumes"]))
        cfg = tactd_config({k: str(v) for k, v in s["tactd"]["environment"].items()
                            if not k.endswith("HASH_KEY")})
        ports = {p.split(":")[1] for p in s["tactd"]["ports"]}
        self.assertEqual(ports, {cfg["grpc.listen"].rsplit(":", 1)[1], cfg["admin.listen"].rsplit(":", 1)[1]})
        # Redis AUTH: tactd's password file is the secret the redis service reads its ACL user's password from.
        self.assertEqual(cfg["redis.password_file"], "/run/secrets/redis_password")
        self.assertEqual(cfg["redis.password"], '""')
        self.assertIn("redis_password", s["tactd"]["secrets"])
        self.assertIn("redis_password", s["redis"]["secrets"])

    def test_secure_override_reads_kafka_secrets_from_files(self):
        over = load_all(os.path.join(DEPLOY, "compose.secure.yaml"))[0]
        env = {k: str(v) for k, v in over["services"]["tactd"]["environment"].items()}
        self.assertFalse(any("PASSWORD" in k and not k.endswith("_FILE") for k in env),
                         "a Kafka password is given as a file, never as an environment value")
        for name in over["services"]["tactd"]["secrets"]:
            self.assertIn(name, over["secrets"])
            self.assertTrue(any(v == "/run/secrets/" + name for v in env.values()), name)
        base = load_all(self.path)[0]["services"]["tactd"]["environment"]
        merged = {k: str(v) for k, v in base.items() if not k.endswith("HASH_KEY")}
        merged.update({k: re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", v) for k, v in env.items()})
        cfg = tactd_config(merged)  # valid as a whole (no files read by --print-config)
        self.assertEqual(cfg["kafka.security_protocol"], "SASL_SSL")
        self.assertEqual(cfg["kafka.sasl_password_file"], "/run/secrets/kafka-password")
        r = subprocess.run(["docker-compose", "-f", self.path, "-f", os.path.join(DEPLOY, "compose.secure.yaml"),
                            "config", "--quiet"], capture_output=True, text=True, cwd=DEPLOY)
        if "no such file" not in r.stderr.lower():  # deploy/secrets/ is the operator's, not in the repository
            self.assertEqual(r.returncode, 0, r.stderr)


class Kubernetes(unittest.TestCase):
    def setUp(self):
        self.kust = load_all(os.path.join(K8S, "kustomization.yaml"))[0]
        self.docs = {}
        for r in self.kust["resources"]:
            for d in load_all(os.path.join(K8S, r)):
                self.docs[d["kind"]] = d

    def container(self):
        return self.docs["Deployment"]["spec"]["template"]["spec"]["containers"][0]

    def env(self):
        c = self.container()
        env = {e["name"]: e.get("value", "<from " + ",".join(e.get("valueFrom", {}).keys()) + ">")
               for e in c["env"]}
        env.update(self.docs["ConfigMap"]["data"])
        return env

    def test_kinds(self):
        self.assertEqual(set(self.docs),
                         {"Deployment", "Service", "PodDisruptionBudget", "ConfigMap", "NetworkPolicy"})

    def test_deployment(self):
        d = self.docs["Deployment"]
        self.assertGreaterEqual(d["spec"]["replicas"], 2)
        pod = d["spec"]["template"]["spec"]
        self.assertTrue(pod["securityContext"]["runAsNonRoot"])
        self.assertFalse(pod["enableServiceLinks"])
        c = self.container()
        self.assertTrue(c["securityContext"]["readOnlyRootFilesystem"])
        self.assertFalse(c["securityContext"]["allowPrivilegeEscalation"])
        self.assertIn("requests", c["resources"])
        self.assertIn("limits", c["resources"])
        env = {e["name"]: e for e in c["env"]}
        self.assertEqual(env["POD_NAME"]["valueFrom"]["fieldRef"]["fieldPath"], "metadata.name")
        self.assertEqual(env["TACT_KAFKA_GROUP_INSTANCE_ID"]["value"], "$(POD_NAME)")
        self.assertEqual(env["TACT_CUSTOMER_HASH_KEY"]["valueFrom"]["secretKeyRef"]["name"], "tactd-secrets")
        self.assertEqual(env["TACT_REDIS_KEY_SECRET"]["valueFrom"]["secretKeyRef"]["name"], "tactd-secrets")
        # Kafka credentials: files from the tactd-kafka Secret, nothing secret in the environment.
        self.assertFalse(any(k.startswith("TACT_KAFKA_") and "PASSWORD" in k and not k.endswith("_FILE")
                             for k in self.env()))
        mounts = {m["name"]: m["mountPath"] for m in c["volumeMounts"]}
        volumes = {v["name"]: v for v in d["spec"]["template"]["spec"]["volumes"]}
        self.assertEqual(volumes["kafka"]["secret"]["secretName"], "tactd-kafka")
        for k, v in self.env().items():
            if k.startswith("TACT_KAFKA_SSL_") or k.startswith("TACT_KAFKA_SASL_PASSWORD_FILE"):
                self.assertTrue(v.startswith(mounts["kafka"] + "/"), k)
        # Redis: TLS and an ACL user, the password and CA as files from a mounted Secret (never an env value).
        self.assertNotIn("TACT_REDIS_PASSWORD", env)
        settings = self.docs["ConfigMap"]["data"]
        self.assertEqual(settings["TACT_REDIS_TLS"], "true")
        mounts = {m["name"]: m["mountPath"] for m in c["volumeMounts"]}
        volumes = {v["name"]: v for v in d["spec"]["template"]["spec"]["volumes"]}
        self.assertEqual(volumes["redis"]["secret"]["secretName"], "tactd-redis")
        for key in ("TACT_REDIS_PASSWORD_FILE", "TACT_REDIS_TLS_CA_FILE"):
            self.assertTrue(settings[key].startswith(mounts["redis"] + "/"), key)

    def test_settings_are_valid_and_ports_match(self):
        env = {k: v for k, v in self.env().items() if k.startswith("TACT_") and not v.startswith("<from")}
        env["TACT_KAFKA_GROUP_INSTANCE_ID"] = "tactd-abc"
        cfg = tactd_config(env)  # tactd rejects unknown keys and bad values
        c = self.container()
        ports = {p["name"]: p["containerPort"] for p in c["ports"]}
        self.assertEqual(str(ports["grpc"]), cfg["grpc.listen"].rsplit(":", 1)[1])
        self.assertEqual(str(ports["admin"]), cfg["admin.listen"].rsplit(":", 1)[1])
        self.assertTrue(cfg["grpc.listen"].startswith("0.0.0.0:"))
        svc = {p["name"]: p["targetPort"] for p in self.docs["Service"]["spec"]["ports"]}
        self.assertEqual(set(svc.values()), set(ports))
        self.assertEqual(self.docs["Service"]["spec"]["selector"],
                         self.docs["Deployment"]["spec"]["selector"]["matchLabels"])
        mounts = {m["name"]: m["mountPath"] for m in c["volumeMounts"]}
        self.assertEqual(mounts["policies"], cfg["policies"])
        self.assertIn(cfg["kafka.security_protocol"], ("SSL", "SASL_SSL"), "production talks to Kafka over TLS")

    def test_probes(self):
        c = self.container()
        ports = {p["name"] for p in c["ports"]}
        self.assertEqual(c["livenessProbe"]["httpGet"]["path"], "/healthz")
        self.assertEqual(c["readinessProbe"]["httpGet"]["path"], "/readyz")
        for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
            self.assertIn(c[probe]["httpGet"]["port"], ports)
        with open(os.path.join(SRC, "daemon/ops/admin_server.cc")) as f:
            served = f.read()
        for path in ("/healthz", "/readyz", "/metrics"):
            self.assertIn('"%s"' % path, served)
        ann = self.docs["Deployment"]["spec"]["template"]["metadata"]["annotations"]
        self.assertEqual(ann["prometheus.io/path"], "/metrics")

    def test_network_policy_names_who_reaches_each_port(self):
        np = self.docs["NetworkPolicy"]
        self.assertEqual(np["spec"]["podSelector"]["matchLabels"],
                         self.docs["Deployment"]["spec"]["selector"]["matchLabels"])
        self.assertEqual(np["spec"]["policyTypes"], ["Ingress"])
        ports = {p["name"] for p in self.container()["ports"]}
        reached = [p["port"] for rule in np["spec"]["ingress"] for p in rule["ports"]]
        self.assertEqual(sorted(reached), sorted(ports), "one ingress rule per container port")
        for rule in np["spec"]["ingress"]:
            self.assertTrue(rule["from"], "every rule names its sources (an empty 'from' admits everyone)")
            for source in rule["from"]:
                self.assertTrue(source.get("podSelector", {}).get("matchLabels") or
                                source.get("namespaceSelector", {}).get("matchLabels"),
                                "a source selects by label, not everything")

    def test_pdb_selects_the_pods(self):
        pdb = self.docs["PodDisruptionBudget"]
        self.assertEqual(pdb["spec"]["selector"]["matchLabels"],
                         self.docs["Deployment"]["spec"]["selector"]["matchLabels"])
        self.assertLess(pdb["spec"]["maxUnavailable"], self.docs["Deployment"]["spec"]["replicas"])

    def test_policy_configmap_is_the_default_policy_set(self):
        gen = {g["name"]: g for g in self.kust["configMapGenerator"]}["tactd-policies"]
        files = sorted(os.path.basename(f) for f in gen["files"])
        defaults = sorted(f for f in os.listdir(os.path.join(SRC, "policies/default")) if f.endswith(".yaml"))
        self.assertEqual(files, defaults, "deploy/k8s/kustomization.yaml must list every policies/default file")
        for f in gen["files"]:
            self.assertTrue(filecmp.cmp(os.path.join(K8S, f), os.path.join(SRC, "policies/default", os.path.basename(f)),
                                        shallow=False),
                            "deploy/k8s/%s differs from policies/default: cp policies/default/*.yaml deploy/k8s/policies/" % f)
        sources = self.docs["Deployment"]["spec"]["template"]["spec"]["volumes"][0]["projected"]["sources"]
        self.assertEqual(sources[0]["configMap"]["name"], "tactd-policies")

    def test_policy_tests_ship_with_the_policy(self):
        # tactd runs <policies>/tests/*.yaml before every load: the pod must have them, identical to the repo's.
        gen = {g["name"]: g for g in self.kust["configMapGenerator"]}["tactd-policy-tests"]
        repo_tests = os.path.join(SRC, "policies/default/tests")
        names = sorted(f for f in os.listdir(repo_tests) if f.endswith(".yaml"))
        self.assertEqual(sorted(os.path.basename(f) for f in gen["files"]), names,
                         "deploy/k8s/kustomization.yaml must list every policies/default/tests file")
        for f in gen["files"]:
            self.assertTrue(filecmp.cmp(os.path.join(K8S, f), os.path.join(repo_tests, os.path.basename(f)), shallow=False),
                            "deploy/k8s/%s differs: cp policies/default/tests/*.yaml deploy/k8s/policies/tests/" % f)
        sources = self.docs["Deployment"]["spec"]["template"]["spec"]["volumes"][0]["projected"]["sources"]
        items = {s["configMap"]["name"]: s["configMap"].get("items") for s in sources}
        self.assertEqual(sorted((i["key"], i["path"]) for i in items["tactd-policy-tests"]),
                         [(n, "tests/" + n) for n in names])
        self.assertEqual(self.docs["ConfigMap"]["data"]["TACT_POLICIES_REQUIRE_TESTS"], "true")

    def test_alert_rules_are_valid(self):
        doc = load_all(os.path.join(DEPLOY, "alerts.yaml"))[0]
        names = [r["alert"] for g in doc["groups"] for r in g["rules"]]
        self.assertEqual(len(names), len(set(names)))
        for g in doc["groups"]:
            for r in g["rules"]:
                self.assertIn("tact_", r["expr"])
                self.assertIn("summary", r["annotations"])


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0], "-v"])
