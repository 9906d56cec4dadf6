#!/usr/bin/env python3
"""Runs deploy/redis-cluster/create-cluster.sh (compose's redis-cluster-create, the k8s-cluster Job) against six
redis-servers on loopback started by the manifests' own start scripts: compose.cluster.yaml's node command, and
k8s-cluster/redis-cluster.yaml's (its redis.conf, TLS for clients, replication and the cluster bus, with a test CA),
paths and ports moved to a temporary directory. Each time: 3 masters with a replica each, every node announcing
the name the manifest gives it, a second run that only reports the cluster, and nodes of another cluster refused.
Usage: check_cluster_create.py SOURCE_DIR"""
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
import unittest

import yaml

SRC = sys.argv[1] if len(sys.argv) > 1 else "."
SCRIPT = os.path.join(SRC, "deploy/redis-cluster/create-cluster.sh")
PASSWORD = "0123456789abcdef"  # as `openssl rand -hex` makes them


def bindable(port):
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def read(path):
    with open(path, errors="replace") as f:
        return f.read()


def free_port(taken):
    """A free port whose cluster bus port (+10000) is free too and below 65536 (an ephemeral port may not be)."""
    for port in random.sample(range(20000, 30000), 2000):
        if port not in taken and port + 10000 not in taken and bindable(port) and bindable(port + 10000):
            return port
    raise RuntimeError("no free port pair")


def load(path):
    with open(os.path.join(SRC, path)) as f:
        return [d for d in yaml.safe_load_all(f) if d]


class ClusterFromManifest:
    """Mixin: six nodes started by a manifest's script (start_script), then the create script's behaviour."""
    tls = False

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.TemporaryDirectory(prefix="tact-cluster-create-")
        d = cls.dir.name
        with open(os.path.join(d, "password"), "w") as f:
            f.write(PASSWORD + "\n")
        cls.cli_args = []
        if cls.tls:
            tls = os.path.join(d, "tls")
            os.makedirs(tls)
            quiet = dict(capture_output=True, check=True)
            ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"]  # fast to make, unlike RSA
            subprocess.run(["openssl", "req", "-x509", *ec, "-nodes", "-keyout", tls + "/ca.key",
                            "-out", tls + "/ca.crt", "-subj", "/CN=test-ca", "-days", "1"], **quiet)
            subprocess.run(["openssl", "req", *ec, "-nodes", "-keyout", tls + "/tls.key",
                            "-out", tls + "/tls.csr", "-subj", "/CN=redis-cluster"], **quiet)
            subprocess.run(["openssl", "x509", "-req", "-in", tls + "/tls.csr", "-CA", tls + "/ca.crt", "-CAkey",
                            tls + "/ca.key", "-CAcreateserial", "-out", tls + "/tls.crt", "-days", "1"], **quiet)
            cls.cli_args = ["--tls", "--cacert", tls + "/ca.crt"]
        cls.ports, cls.procs, cls.announced, cls.logs = [None] * 6, [None] * 6, [None] * 6, [None] * 6
        for i in range(6):
            cls.start_node(i)
        # A port found free can be taken before its node binds it (another test starting its own Redis at the same
        # time): that node exits at once and is started again on another port. Polls until all six say they are
        # ready in their own logs (a connection could reach the process that took the port).
        deadline = time.monotonic() + 30
        pending = set(range(6))
        while pending and time.monotonic() < deadline:
            for i in sorted(pending):
                if cls.procs[i].poll() is not None:
                    cls.start_node(i)
                elif "Ready to accept connections" in read(cls.logs[i]):
                    pending.discard(i)
            time.sleep(0.05)  # poll interval; the deadline above bounds the wait
        cls.nodes = ["localhost:%d" % p for p in cls.ports]

    @classmethod
    def start_node(cls, i):
        port = free_port([p for p in cls.ports if p is not None])
        data = os.path.join(cls.dir.name, "data-%d-%d" % (i, port))
        os.makedirs(data)
        script, env, name = cls.start_script(i, port, data)
        cls.logs[i] = os.path.join(data, "redis.log")
        with open(cls.logs[i], "w") as log:
            cls.procs[i] = subprocess.Popen(["sh", "-ec", script], env=dict(os.environ, **env), cwd=data,
                                            stdout=log, stderr=subprocess.STDOUT)
        cls.ports[i] = port
        cls.announced[i] = name

    @classmethod
    def tearDownClass(cls):
        for p in cls.procs:
            p.kill()
            p.wait()
        cls.dir.cleanup()

    def cli(self, port, *args):
        env = dict(os.environ, REDISCLI_AUTH=PASSWORD)
        return subprocess.run(["redis-cli", "--user", "tactd", *self.cli_args, "-p", str(port), *args], env=env,
                              capture_output=True, text=True, timeout=10).stdout

    def run_script(self, nodes):
        env = dict(os.environ, REDISCLI_AUTH=PASSWORD, REDIS_USER="tactd", WAIT_SECONDS="30",
                   REDIS_CLI_ARGS=" ".join(self.cli_args))
        return subprocess.run(["sh", SCRIPT, *nodes], env=env, capture_output=True, text=True, timeout=60)

    def test_1_creates_three_masters_with_a_replica_each(self):
        r = self.run_script(self.nodes)  # the script itself waits for the nodes to answer
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("cluster created (6 nodes, 1 replica(s) per master)", r.stdout)
        for port in self.ports:
            self.assertIn("cluster_state:ok", self.cli(port, "cluster", "info"))
        # The replicas' roles reach the first node by gossip: poll its view (deadline, no fixed sleep).
        deadline = time.monotonic() + 30
        while True:
            lines = [l.split() for l in self.cli(self.ports[0], "cluster", "nodes").splitlines()]
            masters = sorted(l[0] for l in lines if "master" in l[2])
            replicas_of = sorted(l[3] for l in lines if "slave" in l[2])
            if (len(masters), replicas_of) == (3, masters) or time.monotonic() > deadline:
                break
            time.sleep(0.1)  # poll interval; the deadline above bounds the wait
        self.assertEqual(len(masters), 3, lines)
        self.assertEqual(replicas_of, masters, "one replica per master")
        # The slot map tactd reads names each master by the name its manifest announces.
        slots = self.cli(self.ports[0], "cluster", "slots").split()
        for port, name in zip(self.ports, self.announced):
            if any(l[1].startswith("127.0.0.1:%d@" % port) for l in lines if "master" in l[2]):
                self.assertIn(name, slots)

    def test_2_a_second_run_only_reports_the_cluster(self):
        before = self.cli(self.ports[0], "cluster", "nodes")
        r = self.run_script(self.nodes)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("cluster already created", r.stdout)
        self.assertEqual(sorted(l.split()[0] for l in self.cli(self.ports[0], "cluster", "nodes").splitlines()),
                         sorted(l.split()[0] for l in before.splitlines()))

    def test_3_refuses_nodes_of_another_cluster(self):
        r = self.run_script(self.nodes[:3])
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("already knows other nodes", r.stderr)

    def test_needs_three_nodes(self):
        r = self.run_script(self.nodes[:2])
        self.assertEqual(r.returncode, 2)
        self.assertIn("need at least 3 nodes", r.stderr)


class ComposeNodes(ClusterFromManifest, unittest.TestCase):
    """compose.cluster.yaml's redis-N command (compose's $$ is a $), password file and port moved."""

    @classmethod
    def start_script(cls, i, port, data):
        services = load("deploy/compose.cluster.yaml")[0]["services"]
        script = " ".join(services["redis-%d" % i]["command"]).replace("$$", "$")
        assert services["redis-%d" % i]["hostname"] == "redis-%d" % i
        script = (script.replace("/data/nodes.conf", os.path.join(data, "nodes.conf"))
                  .replace("/run/secrets/redis_password", os.path.join(cls.dir.name, "password"))
                  .replace("--port 6379", "--port %d --bind 127.0.0.1" % port)
                  .replace('"$(hostname)"', "redis-%d" % i))
        return script, {}, "redis-%d" % i


class KubernetesNodes(ClusterFromManifest, unittest.TestCase):
    """k8s-cluster/redis-cluster.yaml's container script (redis.conf with TLS), mounts and port moved."""
    tls = True

    @classmethod
    def start_script(cls, i, port, data):
        sts = next(d for d in load("deploy/k8s-cluster/redis-cluster.yaml") if d["kind"] == "StatefulSet")
        namespace = load("deploy/k8s-cluster/kustomization.yaml")[0]["namespace"]
        script = sts["spec"]["template"]["spec"]["containers"][0]["args"][0]
        run = os.path.join(data, "run")
        os.makedirs(run)
        script = (script.replace("/data", data)  # first: the other paths are under data
                  .replace("/run/redis", run)
                  .replace("/etc/redis/tls", os.path.join(cls.dir.name, "tls"))
                  .replace("/etc/redis/auth/password", os.path.join(cls.dir.name, "password"))
                  .replace("tls-port 6379", "tls-port %d\nbind 127.0.0.1" % port))
        pod = "%s-%d" % (sts["metadata"]["name"], i)
        return script, {"POD_NAME": pod, "POD_NAMESPACE": namespace}, "%s.%s.%s.svc" % (
            pod, sts["spec"]["serviceName"], namespace)


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0], "-v"])
