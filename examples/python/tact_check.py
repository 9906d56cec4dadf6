#!/usr/bin/env python3
"""Asks tactd whether one message may go out now: tact.v1.Throttle/Check over gRPC.

Stubs first, from the repository root (Debian 12: protobuf-compiler, protobuf-compiler-grpc, python3-grpcio):
  mkdir -p gen && protoc -I proto --python_out=gen --grpc_out=gen \
    --plugin=protoc-gen-grpc=/usr/bin/grpc_python_plugin proto/tact/v1/*.proto
then:
  PYTHONPATH=gen python3 examples/python/tact_check.py --target 127.0.0.1:50051 --tenant acme \
    --customer maria@example.com --event-id sorry-1 --message-class PROACTIVE_SERVICE

Prints one line, "RELEASE: within every limit" or "SUPPRESS by <rule>: <reason>" (DEFER adds "until <time>").
Exit 0 when a decision came back, 1 when the call failed (the gRPC status, e.g. INVALID_ARGUMENT naming the field).
Plaintext by default (tactd --grpc-plaintext true, as the demo); --ca <PEM> for TLS. A bearer token from the
clients file goes in the TACT_TOKEN environment variable (not a flag: flags show in ps).
"""
import argparse
import os
import sys

import grpc
from tact.v1 import decision_pb2, event_pb2, throttle_pb2, throttle_pb2_grpc


def Names(enum) -> list:
    return [n for n in enum.keys() if not n.endswith("_UNSPECIFIED")]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--target", default="127.0.0.1:50051", help="tactd's gRPC address host:port")
    p.add_argument("--ca", help="PEM CA of tactd's certificate: use TLS (default: plaintext)")
    p.add_argument("--tenant", required=True)
    p.add_argument("--customer", required=True, help="customer id")
    p.add_argument("--event-id", required=True, help="one id per message: a retry with the same id is deduped")
    p.add_argument("--message-class", default="PROMOTION", choices=Names(event_pb2.MessageClass))
    p.add_argument("--channel", default="EMAIL", choices=Names(event_pb2.Channel))
    p.add_argument("--campaign", default="", help="campaign id, if the message belongs to one")
    p.add_argument("--dry-run", action="store_true", help="decide without reserving anything")
    args = p.parse_args()

    if args.ca:
        with open(args.ca, "rb") as f:
            channel = grpc.secure_channel(args.target, grpc.ssl_channel_credentials(root_certificates=f.read()))
    else:
        channel = grpc.insecure_channel(args.target)
    metadata = []
    if os.environ.get("TACT_TOKEN"):
        metadata.append(("authorization", "Bearer " + os.environ["TACT_TOKEN"]))

    event = event_pb2.OutboundEvent(
        event_id=args.event_id, tenant=args.tenant, customer_id=args.customer,
        channel=event_pb2.Channel.Value(args.channel),
        message_class=event_pb2.MessageClass.Value(args.message_class),
        campaign_id=args.campaign)
    try:
        response = throttle_pb2_grpc.ThrottleStub(channel).Check(
            throttle_pb2.CheckRequest(event=event, dry_run=args.dry_run), metadata=metadata, timeout=5)
    except grpc.RpcError as e:
        print(f"error: {e.code().name}: {e.details()}", file=sys.stderr)
        return 1

    d = response.decision
    line = decision_pb2.DecisionKind.Name(d.decision)
    if d.rule_id:
        line += f" by {d.rule_id}"
    if d.HasField("defer_until"):
        line += f" until {d.defer_until.ToJsonString()}"
    print(f"{line}: {d.reason}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
