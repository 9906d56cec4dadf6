#!/usr/bin/env python3
"""Checks deploy/: the Dockerfile's structure, the compose files (docker-compose config), and the Kubernetes
manifests as YAML with the fields the probes and ports depend on, the Redis Cluster variants (compose.cluster.yaml,
k8s-cluster/) included. Usage: check_deploy.py SOURCE_DIR TACTD_BIN"""
import filecmp
import os
import re
import shutil
import subprocess
import sys
import unittest

import yaml

SRC = sys.argv[1] if len(sys.argv) > 1 else "."
TACTD = sys.argv[2] if len(sys.argv) > 2 else "build/tactd"
DEPLOY = os.path.join(SRC, "deploy")
K8S = os.path.join(DEPLOY, "k8s")
K8S_CLUSTER = os.path.join(DEPLOY, "k8s-cluster")
CLUSTER_SCHEME = "redis+cluster://"


def load_all(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


def tactd_config(env):
    """tactd --print-config under `env` (TACT_* only): the effective settings as a dict."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TACT_")}
    clean.update(env)
    out = subprocess.run([TACTD, "--print-config"], env=clean, capture_output=True, text=True, check=True).stdout
    return dict(line.split(": ", 1) for line in out.splitlines())


def setting_variables():
    """The TACT_* variable of every setting in daemon/ops/config_keys.cc ("redis.tls_ca_file" → TACT_REDIS_TLS_CA_FILE)."""
    with open(os.path.join(SRC, "daemon/ops/config_keys.cc")) as f:
        paths = re.findall(r'keys\.push_back\(\s*\w+(?:<\w+>)?\(\s*"([a-z0-9_.]+)"', f.read())
    assert len(paths) > 40, "config_keys.cc: the setting table was not found (%d keys)" % len(paths)
    return {"TACT_" + p.replace(".", "_").upper() for p in paths}


def pinned(image):
    """An image with an exact version tag (x.y.z) or a digest: never `latest`, never a floating `7.0`."""
    return "@sha256:" in image or re.search(r":v?\d+\.\d+\.\d+[\w.-]*$", image) is not None


def cluster_seeds(address):
    """redis+cluster://h:p,h:p → [(h, p), ...]"""
    assert address.startswith(CLUSTER_SCHEME), address
    return [tuple(seed.rsplit(":", 1)) for seed in address[len(CLUSTER_SCHEME):].split(",")]


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
                    "libprometheus-cpp-core1.0", "libcpp-httplib0.11", "libabsl20220623", "libssl3", "libjemalloc2"):
            self.assertIn(pkg, runtime)

    def test_tactd_allocates_with_jemalloc(self):
        # daemon/CMakeLists.txt: glibc's malloc cost tactd ~20% more CPU per Kafka event (docs/benchmarks.md).
        libs = subprocess.run(["ldd", TACTD], capture_output=True, text=True, check=True).stdout
        self.assertIn("libjemalloc.so.2", libs)


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


class ComposeCluster(unittest.TestCase):
    """compose.cluster.yaml: six cluster-mode Redis nodes, the one-shot create, and compose.yaml's Kafka and tactd."""
    path = os.path.join(DEPLOY, "compose.cluster.yaml")

    def setUp(self):
        self.s = load_all(self.path)[0]["services"]
        self.nodes = sorted(n for n in self.s if re.fullmatch(r"redis-\d+", n))

    def test_docker_compose_config_accepts_it(self):
        r = subprocess.run(["docker-compose", "-f", self.path, "config", "--quiet"], capture_output=True, text=True,
                           cwd=DEPLOY)
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_six_cluster_nodes_and_their_create_job(self):
        self.assertEqual(len(self.nodes), 6, "3 masters + 3 replicas")
        for n in self.nodes:
            cmd = " ".join(self.s[n]["command"])
            for flag in ("--cluster-enabled yes", "--cluster-config-file /data/nodes.conf", "--appendonly yes",
                         "--cluster-preferred-endpoint-type hostname", "--masteruser tactd"):
                self.assertIn(flag, cmd, n)
            self.assertEqual(self.s[n]["hostname"], n, "a node announces the name tactd and its peers resolve")
            self.assertIn("healthcheck", self.s[n])
            self.assertTrue(any(v.endswith(":/data") for v in self.s[n]["volumes"]), n)
        create = self.s["redis-cluster-create"]
        self.assertEqual(create["restart"], "no")
        self.assertEqual(create["depends_on"], {n: {"condition": "service_healthy"} for n in self.nodes})
        self.assertTrue(any(v.startswith("./redis-cluster/create-cluster.sh:") for v in create["volumes"]))
        self.assertTrue(os.access(os.path.join(DEPLOY, "redis-cluster/create-cluster.sh"), os.X_OK))
        args = [a for a in " ".join(create["command"]).split("create-cluster.sh", 1)[1].split() if a != "\\"]
        self.assertEqual(args, ["%s:6379" % n for n in self.nodes])

    def test_tactd_is_configured_with_the_cluster(self):
        tactd = self.s["tactd"]
        self.assertEqual(tactd["depends_on"]["redis-cluster-create"]["condition"], "service_completed_successfully")
        self.assertEqual(tactd["depends_on"]["topics"]["condition"], "service_completed_successfully")
        env = {k: str(v) for k, v in tactd["environment"].items()}
        seeds = cluster_seeds(env["TACT_REDIS_ADDRESS"])
        self.assertEqual(sorted(h for h, _ in seeds), self.nodes, "every node is a seed")
        self.assertEqual({p for _, p in seeds}, {"6379"})
        unknown = set(env) - setting_variables()
        self.assertFalse(unknown, "not settings in daemon/ops/config_keys.cc: %s" % sorted(unknown))
        cfg = tactd_config({k: v for k, v in env.items() if not k.endswith("HASH_KEY")})
        self.assertEqual(cfg["redis.address"], env["TACT_REDIS_ADDRESS"])
        self.assertEqual(cfg["redis.password_file"], "/run/secrets/redis_password")

    def test_the_rest_is_compose_yaml(self):
        base = load_all(os.path.join(DEPLOY, "compose.yaml"))[0]["services"]
        self.assertEqual(self.s["kafka"], base["kafka"])
        self.assertEqual(self.s["topics"], base["topics"])
        env = dict(self.s["tactd"]["environment"])
        base_env = dict(base["tactd"]["environment"])
        del env["TACT_REDIS_ADDRESS"], base_env["TACT_REDIS_ADDRESS"]
        self.assertEqual(env, base_env, "tactd's settings other than redis.address are compose.yaml's")

    def test_images_are_pinned(self):
        for name, svc in self.s.items():
            if "build" not in svc:
                self.assertTrue(pinned(svc["image"]), "%s: %s is not an exact version" % (name, svc["image"]))


class KubernetesCluster(unittest.TestCase):
    """k8s-cluster/: a kustomize overlay of k8s/ with a 6-node redis-cluster StatefulSet and its create Job."""

    def setUp(self):
        self.kust = load_all(os.path.join(K8S_CLUSTER, "kustomization.yaml"))[0]
        self.docs = {}
        for r in self.kust["resources"]:
            if os.path.isdir(os.path.join(K8S_CLUSTER, r)):
                continue
            for d in load_all(os.path.join(K8S_CLUSTER, r)):
                self.docs[(d["kind"], d["metadata"]["name"])] = d
        self.sts = self.docs[("StatefulSet", "redis-cluster")]
        self.namespace = self.kust["namespace"]

    def pod_names(self):
        """<statefulset>-<i>.<service>.<namespace>.svc for every replica."""
        s = self.sts
        return ["%s-%d.%s.%s.svc" % (s["metadata"]["name"], i, s["spec"]["serviceName"], self.namespace)
                for i in range(s["spec"]["replicas"])]

    def test_kustomize_structure(self):
        self.assertEqual(self.kust["kind"], "Kustomization")
        dirs = [r for r in self.kust["resources"] if os.path.isdir(os.path.join(K8S_CLUSTER, r))]
        self.assertEqual([os.path.realpath(os.path.join(K8S_CLUSTER, d)) for d in dirs], [os.path.realpath(K8S)],
                         "the overlay's one base is deploy/k8s")
        base = load_all(os.path.join(K8S, "kustomization.yaml"))[0]
        base_docs = {(d["kind"], d["metadata"]["name"]) for r in base["resources"]
                     for d in load_all(os.path.join(K8S, r))}
        for patch in self.kust["patches"]:
            for d in load_all(os.path.join(K8S_CLUSTER, patch["path"])):
                self.assertIn((d["kind"], d["metadata"]["name"]), base_docs, "a patch names a base resource")
        for gen in self.kust.get("configMapGenerator", []):
            for f in gen["files"]:
                self.assertTrue(os.path.isfile(os.path.join(K8S_CLUSTER, f.split("=")[-1])), f)
        self.assertTrue(filecmp.cmp(os.path.join(K8S_CLUSTER, "create-cluster.sh"),
                                    os.path.join(DEPLOY, "redis-cluster/create-cluster.sh"), shallow=False),
                        "cp deploy/redis-cluster/create-cluster.sh deploy/k8s-cluster/")

    @unittest.skipUnless(shutil.which("kubectl"), "no kubectl (kustomize) here")
    def test_kustomize_builds_it(self):
        r = subprocess.run(["kubectl", "kustomize", K8S_CLUSTER], capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        kinds = {(d["kind"], d["metadata"]["name"]) for d in yaml.safe_load_all(r.stdout) if d}
        for k in (("StatefulSet", "redis-cluster"), ("Job", "redis-cluster-create"), ("Deployment", "tactd")):
            self.assertIn(k, kinds)

    def test_statefulset_and_headless_service(self):
        spec = self.sts["spec"]
        self.assertEqual(spec["replicas"], 6, "3 masters + 3 replicas")
        svc = self.docs[("Service", spec["serviceName"])]
        self.assertEqual(svc["spec"]["clusterIP"], "None")
        self.assertTrue(svc["spec"]["publishNotReadyAddresses"])
        labels = spec["selector"]["matchLabels"]
        self.assertEqual(svc["spec"]["selector"], labels)
        self.assertEqual(spec["template"]["metadata"]["labels"], labels)
        for kind in ("PodDisruptionBudget", "NetworkPolicy"):
            self.assertEqual(self.docs[(kind, "redis-cluster")]["spec"]["podSelector" if kind == "NetworkPolicy"
                                                                       else "selector"]["matchLabels"], labels)
        c = spec["template"]["spec"]["containers"][0]
        conf = {l.split()[0]: l.split(None, 1)[1] for l in c["args"][0].splitlines() if len(l.split()) > 1}
        self.assertIn("exec redis-server /run/redis/redis.conf", c["args"][0])
        self.assertIn("/run/redis", {m["mountPath"] for m in c["volumeMounts"]})
        for key, value in (("cluster-enabled", "yes"), ("cluster-config-file", "/data/nodes.conf"), ("port", "0"),
                           ("tls-port", "6379"), ("tls-cluster", "yes"), ("tls-replication", "yes"),
                           ("appendonly", "yes"), ("cluster-preferred-endpoint-type", "hostname"),
                           ("masteruser", "tactd")):
            self.assertEqual(conf.get(key), value, key)
        self.assertNotIn("$pw", " ".join(c["command"]), "the password is in no command line")
        announced = conf["cluster-announce-hostname"]
        self.assertEqual(announced.replace("$POD_NAMESPACE", self.namespace).replace("$POD_NAME", "redis-cluster-0"),
                         self.pod_names()[0], "nodes announce the names tactd is given")
        ports = {p["name"]: p["containerPort"] for p in c["ports"]}
        self.assertEqual(ports, {"redis": 6379, "bus": 16379})
        self.assertEqual({p["targetPort"] for p in svc["spec"]["ports"]}, set(ports))
        self.assertTrue(pod_security_ok(spec["template"]["spec"], c), "non-root, read-only root, no escalation")
        self.assertEqual(spec["volumeClaimTemplates"][0]["metadata"]["name"], "data")

    def test_create_job_names_every_node(self):
        job = self.docs[("Job", "redis-cluster-create")]
        pod = job["spec"]["template"]["spec"]
        self.assertIn(pod["restartPolicy"], ("OnFailure", "Never"))
        c = pod["containers"][0]
        args = [a for a in " ".join(c["args"]).split("create-cluster.sh", 1)[1].split() if a != "\\"]
        self.assertEqual(args, ["%s:6379" % n for n in self.pod_names()])
        scripts = {v["name"]: v for v in pod["volumes"]}["scripts"]["configMap"]["name"]
        gen = {g["name"]: g for g in self.kust["configMapGenerator"]}[scripts]
        self.assertTrue(gen["options"]["disableNameSuffixHash"], "a Job's pod template cannot change on re-apply")
        self.assertEqual(job["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/name"],
                         job["metadata"]["labels"]["app.kubernetes.io/name"])
        self.assertTrue(pod_security_ok(pod, c))

    def test_tactd_settings_point_at_the_cluster(self):
        base = load_all(os.path.join(K8S, "settings.yaml"))[0]["data"]
        patch = load_all(os.path.join(K8S_CLUSTER, "settings-cluster.yaml"))[0]["data"]
        unknown = set(patch) - setting_variables()
        self.assertFalse(unknown, "not settings in daemon/ops/config_keys.cc: %s" % sorted(unknown))
        seeds = cluster_seeds(patch["TACT_REDIS_ADDRESS"])
        self.assertEqual([h for h, _ in seeds], self.pod_names())
        self.assertEqual({p for _, p in seeds}, {"6379"})
        env = dict(base, **patch)
        env.update({"TACT_GRPC_PLAINTEXT": "true", "TACT_REDIS_KEY_SECRET": "x"})
        self.assertEqual(tactd_config(env)["redis.address"], patch["TACT_REDIS_ADDRESS"])

    def test_images_are_pinned(self):
        for d in self.docs.values():
            pod = d.get("spec", {}).get("template", {}).get("spec", {})
            for c in pod.get("containers", []) + pod.get("initContainers", []):
                self.assertTrue(pinned(c["image"]), "%s: %s is not an exact version" % (d["kind"], c["image"]))


def pod_security_ok(pod, container):
    sc = container["securityContext"]
    return (pod["securityContext"]["runAsNonRoot"] and sc["readOnlyRootFilesystem"]
            and not sc["allowPrivilegeEscalation"])


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
