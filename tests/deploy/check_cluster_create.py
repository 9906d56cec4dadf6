#!/usr/bin/env python3
"""Runs deploy/redis-cluster/create-cluster.sh (compose's redis-cluster-create, the k8s-cluster Job) against six
cluster-mode redis-servers on loopback, started as compose.cluster.yaml starts its nodes (ACL user, default user
off, masteruser): it makes 3 masters with a replica each, a second run only reports the cluster, and nodes of
another cluster are refused. Usage: check_cluster_create.py SOURCE_DIR"""
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
import unittest

SRC = sys.argv[1] if len(sys.argv) > 1 else "."
SCRIPT = os.path.join(SRC, "deploy/redis-cluster/create-cluster.sh")
PASSWORD = "test-password-not-secret"


def bindable(port):
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def free_port(taken):
    """A free port whose cluster bus port (+10000) is free too and below 65536 (an ephemeral port may not be)."""
    for port in random.sample(range(20000, 30000), 2000):
        if port not in taken and port + 10000 not in taken and bindable(port) and bindable(port + 10000):
            return port
    raise RuntimeError("no free port pair")


def cli(port, *args):
    env = dict(os.environ, REDISCLI_AUTH=PASSWORD)
    return subprocess.run(["redis-cli", "--user", "tactd", "-p", str(port), *args], env=env, capture_output=True,
                          text=True, timeout=10).stdout


def run_script(nodes):
    env = dict(os.environ, REDISCLI_AUTH=PASSWORD, REDIS_USER="tactd", WAIT_SECONDS="30")
    return subprocess.run(["sh", SCRIPT, *nodes], env=env, capture_output=True, text=True, timeout=60)


class CreateCluster(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.TemporaryDirectory(prefix="tact-cluster-create-")
        cls.ports, cls.procs = [], []
        for _ in range(6):
            port = free_port(cls.ports)
            data = os.path.join(cls.dir.name, str(port))
            os.makedirs(data)
            cls.procs.append(subprocess.Popen(
                ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", data, "--save", "",
                 "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "5000",
                 "--cluster-announce-hostname", "localhost", "--cluster-preferred-endpoint-type", "hostname",
                 "--user", "default", "off", "--user", "tactd", "on", ">" + PASSWORD, "~*", "&*", "+@all",
                 "--masteruser", "tactd", "--masterauth", PASSWORD],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            cls.ports.append(port)
        cls.nodes = ["localhost:%d" % p for p in cls.ports]  # names, as in compose and Kubernetes

    @classmethod
    def tearDownClass(cls):
        for p in cls.procs:
            p.kill()
            p.wait()
        cls.dir.cleanup()

    def test_1_creates_three_masters_with_a_replica_each(self):
        r = run_script(self.nodes)  # the script itself waits for the nodes to answer
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("cluster created (6 nodes, 1 replica(s) per master)", r.stdout)
        for port in self.ports:
            self.assertIn("cluster_state:ok", cli(port, "cluster", "info"))
        # The replicas' roles reach the first node by gossip: poll its view (deadline, no fixed sleep).
        deadline = time.monotonic() + 30
        while True:
            lines = [l.split() for l in cli(self.ports[0], "cluster", "nodes").splitlines()]
            masters = sorted(l[0] for l in lines if "master" in l[2])
            replicas_of = sorted(l[3] for l in lines if "slave" in l[2])
            if (len(masters), replicas_of) == (3, masters) or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        self.assertEqual(len(masters), 3, lines)
        self.assertEqual(replicas_of, masters, "one replica per master")
        # Every node announces its name, as the slot map tactd reads must (CLUSTER SHARDS "endpoint").
        self.assertIn("localhost", cli(self.ports[0], "cluster", "slots"))

    def test_2_a_second_run_only_reports_the_cluster(self):
        before = cli(self.ports[0], "cluster", "nodes")
        r = run_script(self.nodes)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("cluster already created", r.stdout)
        self.assertEqual(sorted(l.split()[0] for l in cli(self.ports[0], "cluster", "nodes").splitlines()),
                         sorted(l.split()[0] for l in before.splitlines()))

    def test_3_refuses_nodes_of_another_cluster(self):
        r = run_script(self.nodes[:3])
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("already knows other nodes", r.stderr)

    def test_needs_three_nodes(self):
        r = run_script(self.nodes[:2])
        self.assertEqual(r.returncode, 2)
        self.assertIn("need at least 3 nodes", r.stderr)


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0], "-v"])
