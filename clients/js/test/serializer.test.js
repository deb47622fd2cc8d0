// Serializer frames against the protocol vectors (test/fixtures).

import assert from "node:assert/strict";
import { test } from "node:test";
import { Serializer, SerializerV1 } from "../src/embercast.js";
import { bufferToHex, fixture, hexToBuffer } from "./support.js";

const binary = fixture("v2_binary_frames.json");
const text = fixture("v2_text_frames.json");
const v1 = fixture("v1_frames.json");

const encode = (serializer, msg) => serializer.encode(msg, (frame) => frame);
const decode = (serializer, raw) => serializer.decode(raw, (msg) => msg);

test("V2 binary: client pushes encode to the vector bytes", () => {
  const pushes = binary.frames.filter((f) => f.dir === "c2s");
  assert.ok(pushes.length >= 3);
  for (const { name, hex, decoded } of pushes) {
    const { join_ref, ref, topic, event, payload_hex } = decoded;
    const frame = encode(Serializer, { join_ref, ref, topic, event, payload: hexToBuffer(payload_hex) });
    assert.ok(frame instanceof ArrayBuffer, name);
    assert.equal(bufferToHex(frame), hex, name);
  }
});

test("V2 binary: a Uint8Array view encodes only its own bytes", () => {
  const backing = new Uint8Array([9, 9, 1, 2, 3, 9]);
  const frame = encode(Serializer, { join_ref: "3", ref: "5", topic: "room:lobby", event: "bin", payload: backing.subarray(2, 5) });
  assert.equal(bufferToHex(frame), binary.frames.find((f) => f.name === "client_push").hex);
});

test("V2 binary: server push, reply and broadcast frames decode as in the vectors", () => {
  const frames = binary.frames.filter((f) => f.dir === "s2c");
  assert.ok(frames.length >= 5);
  for (const { name, hex, decoded } of frames) {
    const msg = decode(Serializer, hexToBuffer(hex));
    assert.equal(msg.join_ref, decoded.join_ref, `${name}: join_ref`);
    assert.equal(msg.ref, decoded.ref, `${name}: ref`);
    assert.equal(msg.topic, decoded.topic, `${name}: topic`);
    assert.equal(msg.event, decoded.event, `${name}: event`);
    if (decoded.payload_hex !== undefined) {
      assert.ok(msg.payload instanceof ArrayBuffer, `${name}: payload is an ArrayBuffer`);
      assert.equal(bufferToHex(msg.payload), decoded.payload_hex, `${name}: payload`);
    } else {
      assert.equal(msg.payload.status, decoded.payload.status, `${name}: status`);
      assert.ok(msg.payload.response instanceof ArrayBuffer, `${name}: response is an ArrayBuffer`);
      assert.equal(bufferToHex(msg.payload.response), decoded.payload.response_hex, `${name}: response`);
    }
  }
});

test("V2 binary: header fields over 255 bytes of UTF-8 are refused", () => {
  assert.ok(binary.encode_errors.length === 4);
  for (const { field, value_len_bytes } of binary.encode_errors) {
    const msg = { join_ref: "1", ref: "2", topic: "t", event: "e", payload: new ArrayBuffer(1) };
    msg[field] = "x".repeat(value_len_bytes);
    assert.throws(() => encode(Serializer, msg), /255/, field);
    msg[field] = "x".repeat(255);
    // 5 header bytes, the 255-byte field, the three others (1 byte each), 1 payload byte.
    assert.equal(encode(Serializer, msg).byteLength, 5 + 255 + 3 + 1);
  }
  // Bytes, not characters: 64 four-byte emoji are 256 bytes.
  const emoji = { join_ref: "1", ref: "2", topic: "🚀".repeat(64), event: "e", payload: new ArrayBuffer(0) };
  assert.throws(() => encode(Serializer, emoji), /255/);
});

test("V2 binary: truncated frames and unknown kinds are decode errors", () => {
  assert.throws(() => decode(Serializer, hexToBuffer("00")), /truncated/);
  assert.throws(() => decode(Serializer, hexToBuffer("020a05726f6f6d")), /truncated/);
  assert.throws(() => decode(Serializer, hexToBuffer("07000000")), /kind 7/);
});

test("V2 text: every client frame of the exchanges encodes to the vector, every server frame decodes", () => {
  let c2s = 0;
  let s2c = 0;
  for (const { name, steps } of text.cases) {
    for (const { dir, frame } of steps) {
      const [join_ref, ref, topic, event, payload] = frame;
      if (dir === "c2s") {
        c2s += 1;
        assert.deepEqual(JSON.parse(encode(Serializer, { join_ref, ref, topic, event, payload })), frame, name);
      } else {
        s2c += 1;
        assert.deepEqual(decode(Serializer, JSON.stringify(frame)), { join_ref, ref, topic, event, payload }, name);
      }
    }
  }
  assert.ok(c2s > 20 && s2c > 20, `${c2s} client and ${s2c} server frames`);
});

test("V1: frames are objects; the client's join_ref is optional, the server never sends one", () => {
  for (const { name, steps } of v1.cases) {
    for (const { dir, frame } of steps) {
      if (dir === "c2s") {
        const { topic, event, payload, ref } = frame;
        const encoded = JSON.parse(encode(SerializerV1, { topic, event, payload, ref, join_ref: frame.join_ref ?? null }));
        assert.deepEqual(encoded, frame, name);
      } else {
        const { topic, event, payload, ref } = frame;
        assert.deepEqual(decode(SerializerV1, JSON.stringify(frame)), { join_ref: null, ref, topic, event, payload }, name);
      }
    }
  }
  assert.throws(() => decode(SerializerV1, v1.decode_errors[0].input), /object/);
  assert.throws(() => encode(SerializerV1, { topic: "t", event: "e", payload: new ArrayBuffer(1), ref: "1" }), /vsn 2/);
});
