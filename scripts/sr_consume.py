#!/usr/bin/env python3
"""sr_consume.py: an independent consumer of tickbridge's Schema Registry encodings.

Reads topics from the beginning and decodes every message by the schema id in its
header with confluent-kafka's own deserializers (AvroDeserializer, ProtobufDeserializer,
JSONDeserializer, each fetching the writer's schema from the registry by id), then
prints one JSON object per message on stdout: the record with the field names and value
formats of tickbridge's JSON records (decimals as normalized strings, enums as their
lowercase names, absent optionals as null, book levels as [price, size] pairs), plus
_topic, _partition, _offset, _key and _schema_id.

    sr_consume.py --brokers B --registry URL --encoding avro|protobuf|json_schema \\
                  --topic T [--topic T2 ...] --expect N --timeout SECS \\
                  [--proto-dir schemas/protobuf]

Stops after N messages (exit 0) or at the timeout (exit 1, saying how many it got).
Protobuf needs generated classes: the .proto files of --proto-dir are compiled with
grpc_tools.protoc into a temporary directory, and a message's class is chosen by the
message name of the schema its id names in the registry.

Run it with the Python of scripts/pyenv.sh.
"""

import argparse
import decimal
import importlib
import json
import os
import struct
import subprocess
import sys
import tempfile
import time
import uuid

from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.serialization import MessageField, SerializationContext


def dec(value):
    """A decimal as tickbridge writes it: no exponent, no trailing fractional zeros."""
    if isinstance(value, decimal.Decimal):
        text = format(value, "f")
        if "." in text:
            text = text.rstrip("0").rstrip(".")
        if text in ("-0", ""):
            text = "0"
        return text
    return value


def normalize(record):
    """Decoded Avro / JSON values in the JSON contract's formats."""
    out = {}
    for key, value in record.items():
        if key in ("bids", "asks") and isinstance(value, list):
            out[key] = [
                [dec(l["price"]), dec(l["size"])] if isinstance(l, dict) else [dec(l[0]), dec(l[1])]
                for l in value
            ]
        else:
            out[key] = dec(value)
    return out


def protobuf_classes(proto_dir):
    """Compiles every .proto of proto_dir; returns {full message name: class}."""
    from grpc_tools import protoc

    out_dir = tempfile.mkdtemp(prefix="sr-consume-pb-")
    files = sorted(f for f in os.listdir(proto_dir) if f.endswith(".proto"))
    args = ["protoc", f"-I{proto_dir}", f"--python_out={out_dir}"] + files
    if protoc.main(args) != 0:
        sys.exit(f"protoc failed on {proto_dir}")
    sys.path.insert(0, out_dir)
    classes = {}
    for f in files:
        module = importlib.import_module(f[: -len(".proto")] + "_pb2")
        for name, descriptor in module.DESCRIPTOR.message_types_by_name.items():
            classes[descriptor.full_name] = getattr(module, name)
    return classes


def protobuf_record(message):
    """A decoded Protobuf message as the JSON contract writes it."""
    out = {}
    for field in message.DESCRIPTOR.fields:
        value = getattr(message, field.name)
        # protobuf 6+ names it is_repeated (field.label is gone in 7).
        repeated = getattr(field, "is_repeated", None)
        if repeated is None:
            repeated = field.label == field.LABEL_REPEATED
        if repeated:
            out[field.name] = [[level.price, level.size] for level in value]
        elif field.has_presence and not message.HasField(field.name):
            out[field.name] = None
        else:
            out[field.name] = value
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--brokers", required=True)
    p.add_argument("--registry", required=True)
    p.add_argument("--encoding", required=True, choices=["avro", "protobuf", "json_schema"])
    p.add_argument("--topic", action="append", required=True)
    p.add_argument("--expect", type=int, required=True)
    p.add_argument("--timeout", type=float, default=60)
    p.add_argument("--proto-dir", default=os.path.join(os.path.dirname(__file__), "..", "schemas", "protobuf"))
    args = p.parse_args()

    registry = SchemaRegistryClient({"url": args.registry})
    if args.encoding == "avro":
        from confluent_kafka.schema_registry.avro import AvroDeserializer

        avro = AvroDeserializer(registry)
        decode = lambda value, ctx, sid: normalize(avro(value, ctx))
    elif args.encoding == "json_schema":
        from confluent_kafka.schema_registry.json_schema import JSONDeserializer

        # No local schema: the writer's schema is fetched by the id in the header.
        jsons = JSONDeserializer(None, schema_registry_client=registry)
        decode = lambda value, ctx, sid: normalize(jsons(value, ctx))
    else:
        from confluent_kafka.schema_registry.protobuf import ProtobufDeserializer

        classes = protobuf_classes(os.path.abspath(args.proto_dir))
        by_id = {}

        def decode(value, ctx, sid):
            if sid not in by_id:
                # The registered schema names its message: `message Trade {` in
                # package tickbridge.v1.
                text = registry.get_schema(sid).schema_str
                name = next(
                    line.split()[1] for line in text.splitlines() if line.startswith("message ")
                )
                cls = classes[f"tickbridge.v1.{name}"]
                by_id[sid] = ProtobufDeserializer(cls, {"use.deprecated.format": False})
            return protobuf_record(by_id[sid](value, ctx))

    consumer = Consumer(
        {
            "bootstrap.servers": args.brokers,
            "group.id": f"sr-consume-{uuid.uuid4()}",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
        }
    )
    # Every partition of every topic, from its first offset.
    assignment = []
    for topic in args.topic:
        md = consumer.list_topics(topic, timeout=10).topics.get(topic)
        if md is None or md.error is not None:
            continue
        assignment += [TopicPartition(topic, p, OFFSET_BEGINNING) for p in md.partitions]
    consumer.assign(assignment)

    got = 0
    deadline = time.monotonic() + args.timeout
    while got < args.expect and time.monotonic() < deadline:
        m = consumer.poll(0.5)
        if m is None:
            continue
        if m.error():
            sys.exit(f"consume error: {m.error()}")
        value = m.value()
        if value is None or len(value) < 5 or value[0] != 0:
            sys.exit(f"{m.topic()}[{m.partition()}]@{m.offset()}: not in the Confluent wire format")
        schema_id = struct.unpack(">I", value[1:5])[0]
        ctx = SerializationContext(m.topic(), MessageField.VALUE)
        record = decode(value, ctx, schema_id)
        record.update(
            {
                "_topic": m.topic(),
                "_partition": m.partition(),
                "_offset": m.offset(),
                "_key": (m.key() or b"").decode(),
                "_schema_id": schema_id,
            }
        )
        print(json.dumps(record, separators=(",", ":")))
        got += 1
    consumer.close()
    if got < args.expect:
        print(f"sr_consume: {got} of {args.expect} messages within {args.timeout}s", file=sys.stderr)
        sys.exit(1)
    print(f"sr_consume: {got} messages decoded ({args.encoding})", file=sys.stderr)


if __name__ == "__main__":
    main()
