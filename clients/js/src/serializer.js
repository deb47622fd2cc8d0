// Serializers: V2 (`vsn=2.0.0`, JSON arrays plus binary frames) and V1
// (`vsn=1.0.0`, JSON objects, text only). Both follow phoenix.js's
// `encode(msg, callback)` / `decode(raw, callback)` shape, so either can be
// passed as the `encode`/`decode` options of a Socket.

import { CHANNEL_EVENTS } from "./constants.js";

const KINDS = Object.freeze({ push: 0, reply: 1, broadcast: 2 });
// Every header field is prefixed by a one-byte length.
const MAX_FIELD_BYTES = 255;

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder();

/** True for an ArrayBuffer or a view on one (Uint8Array, DataView, …). */
export function isBinary(value) {
  return value instanceof ArrayBuffer || ArrayBuffer.isView(value);
}

/** The bytes of an ArrayBuffer or a view, as a Uint8Array (no copy). */
export function bytesOf(value) {
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
}

function headerField(name, value) {
  // A null ref travels as an empty field.
  const bytes = utf8.encode(value == null ? "" : String(value));
  if (bytes.length > MAX_FIELD_BYTES) {
    throw new Error(`binary frame ${name} must be at most ${MAX_FIELD_BYTES} bytes of UTF-8, got ${bytes.length}`);
  }
  return bytes;
}

/**
 * Encodes a client push with a binary payload:
 * `[0, join_ref_len, ref_len, topic_len, event_len, join_ref, ref, topic, event, payload]`.
 * Throws when a header field is longer than 255 bytes.
 */
function binaryEncode({ join_ref, ref, topic, event, payload }) {
  const fields = [
    headerField("join_ref", join_ref),
    headerField("ref", ref),
    headerField("topic", topic),
    headerField("event", event),
  ];
  const body = bytesOf(payload);
  const header = 1 + fields.length;
  const size = fields.reduce((sum, field) => sum + field.length, header + body.length);
  const frame = new Uint8Array(size);
  frame[0] = KINDS.push;
  let offset = header;
  fields.forEach((field, i) => {
    frame[1 + i] = field.length;
    frame.set(field, offset);
    offset += field.length;
  });
  frame.set(body, offset);
  return frame.buffer;
}

/** Reads the length-prefixed header fields of a server frame. */
function readFields(bytes, count) {
  const header = 1 + count;
  if (bytes.length < header) throw new Error(`truncated binary frame: ${bytes.length} bytes`);
  const fields = [];
  let offset = header;
  for (let i = 0; i < count; i += 1) {
    const end = offset + bytes[1 + i];
    if (end > bytes.length) throw new Error("truncated binary frame: header field past the end");
    fields.push(utf8Decoder.decode(bytes.subarray(offset, end)));
    offset = end;
  }
  // A copy, so the payload owns exactly its bytes.
  return { fields, payload: bytes.slice(offset).buffer };
}

/** Decodes a server binary frame (push, reply or broadcast) into a message. */
function binaryDecode(buffer) {
  const bytes = bytesOf(buffer);
  switch (bytes[0]) {
    case KINDS.push: {
      const { fields: [join_ref, topic, event], payload } = readFields(bytes, 3);
      return { join_ref, ref: null, topic, event, payload };
    }
    case KINDS.reply: {
      const { fields: [join_ref, ref, topic, status], payload } = readFields(bytes, 4);
      return { join_ref, ref, topic, event: CHANNEL_EVENTS.reply, payload: { status, response: payload } };
    }
    case KINDS.broadcast: {
      const { fields: [topic, event], payload } = readFields(bytes, 2);
      return { join_ref: null, ref: null, topic, event, payload };
    }
    default:
      throw new Error(`unknown binary frame kind ${bytes[0]}`);
  }
}

/** The V2 serializer (the default): `[join_ref, ref, topic, event, payload]` or a binary frame. */
export const Serializer = Object.freeze({
  KINDS,
  encode(msg, callback) {
    if (isBinary(msg.payload)) return callback(binaryEncode(msg));
    return callback(JSON.stringify([msg.join_ref, msg.ref, msg.topic, msg.event, msg.payload]));
  },
  decode(raw, callback) {
    if (isBinary(raw)) return callback(binaryDecode(raw));
    const [join_ref, ref, topic, event, payload] = JSON.parse(raw);
    return callback({ join_ref, ref, topic, event, payload });
  },
  binaryEncode,
  binaryDecode,
});

/**
 * The V1 serializer for `vsn: "1.0.0"`: `{topic, event, payload, ref, join_ref}`
 * objects. V1 has no binary frames and the server never sends a join_ref.
 */
export const SerializerV1 = Object.freeze({
  encode(msg, callback) {
    if (isBinary(msg.payload)) throw new Error("binary payloads need vsn 2.0.0 (the V1 serializer is text only)");
    const frame = { topic: msg.topic, event: msg.event, payload: msg.payload, ref: msg.ref };
    if (msg.join_ref != null) frame.join_ref = msg.join_ref;
    return callback(JSON.stringify(frame));
  },
  decode(raw, callback) {
    if (typeof raw !== "string") throw new Error("the V1 serializer is text only, got a binary frame");
    const frame = JSON.parse(raw);
    if (!frame || typeof frame !== "object" || Array.isArray(frame)) throw new Error("V1 frames are JSON objects");
    const { topic, event, payload, ref } = frame;
    return callback({ join_ref: frame.join_ref ?? null, ref, topic, event, payload });
  },
});
