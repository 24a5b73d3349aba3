/**
 * The peer wire format (DESIGN.md layer 7). A WebSocket binary message is one
 * frame: a msgpack array of envelopes, so a busy link carries many messages per
 * frame. An envelope is `[kind, id, msg]`:
 *
 *   kind 0 request   id >= 1 names the request; the peer answers with kind 1 or 3
 *   kind 1 reply     id of the request it answers
 *   kind 2 one-way   id 0, no answer
 *   kind 3 error     id of the request; msg = { code, message, status? }
 *
 * Frames come from other machines, so decodeFrame() trusts nothing: anything
 * that is not exactly this shape is a BadFrameError, and it throws nothing
 * else. Encoding is the other way round: local code produced the message, so a
 * shape error there is a programmer bug (assert).
 *
 * Envelopes are packed one by one as they are queued (so a link knows its
 * queued bytes exactly and refuses an oversized message before it is sent)
 * and a frame is an array header followed by the packed envelopes. msgpackr
 * records were measured against plain maps: records pack 2x slower for a
 * single message (each pack carries its key lists) and only decode faster in
 * frames of a hundred or more same-shaped messages, so plain maps it is.
 */
import { Packr, Unpackr } from 'msgpackr';
import { assert } from '../core/assert';
import { BadFrameError } from '../core/errors';
import type { PeerMessage } from '../core/network-port';

export const KIND_REQUEST = 0;
export const KIND_REPLY = 1;
export const KIND_ONE_WAY = 2;
export const KIND_ERROR = 3;

/** What an error reply carries: the RingstoreError's code, message and HTTP status. */
export interface ErrorBody {
  code: string;
  message: string;
  status?: number;
}

export type RequestEnvelope<M extends PeerMessage = PeerMessage> = [typeof KIND_REQUEST, number, M];
export type ReplyEnvelope<M extends PeerMessage = PeerMessage> = [typeof KIND_REPLY, number, M];
export type OneWayEnvelope<M extends PeerMessage = PeerMessage> = [typeof KIND_ONE_WAY, 0, M];
export type ErrorEnvelope = [typeof KIND_ERROR, number, ErrorBody];
export type Envelope<M extends PeerMessage = PeerMessage> =
  | RequestEnvelope<M>
  | ReplyEnvelope<M>
  | OneWayEnvelope<M>
  | ErrorEnvelope;

/** Bytes of the largest array header a frame can start with (0xdd + uint32). */
export const FRAME_HEADER_BYTES_MAX = 5;

// The Packr keeps its output buffer between calls; each pack returns a fresh
// slice of it, so returned buffers stay valid (checked in the tests).
const packr = new Packr({ useRecords: false });
// mapsAsObjects: peer messages are plain objects; msgpackr escapes a
// `__proto__` key, so a hostile map cannot reach a prototype.
const unpackr = new Unpackr({ mapsAsObjects: true });

/**
 * Pack one envelope; frames are built from these with frameOf().
 *
 * The `[kind, id` head is written by hand and the message packed on its
 * own, so a message sent to several peers in one go (a coordinator's put to
 * the N replicas, the same object each time) is packed once. The bytes are
 * the same msgpackr would give for the whole envelope. The last message
 * packed is remembered, by identity, until a microtask queued when it was
 * packed runs: the rest of that job, and promise callbacks already queued
 * then. This relies on what all senders do: a message object is not changed
 * once it has been sent.
 */
export function encodeEnvelope<M extends PeerMessage>(env: Envelope<M>): Buffer {
  assertEnvelope(env);
  const body = packMessage(env[2]);
  const headBytes = writeEnvelopeHead(headScratch, env[0], env[1]);
  const part = Buffer.allocUnsafe(headBytes + body.length);
  headScratch.copy(part, 0, 0, headBytes);
  part.set(body, headBytes);
  return part;
}

/** 0x93, a positive fixint kind, and the id as a float64: the most an envelope's head takes. */
const ENVELOPE_HEAD_BYTES_MAX = 11;
const headScratch = Buffer.alloc(ENVELOPE_HEAD_BYTES_MAX);

let lastMessage: unknown = null;
let lastBody: Buffer | null = null;
let forgetScheduled = false;

function forgetLastMessage(): void {
  lastMessage = null;
  lastBody = null;
  forgetScheduled = false;
}

function packMessage(msg: unknown): Buffer {
  if (msg === lastMessage && lastBody !== null) return lastBody;
  const body = packr.pack(msg);
  lastMessage = msg;
  lastBody = body;
  if (!forgetScheduled) {
    // Only within one synchronous job: after it, the caller may have changed the object.
    forgetScheduled = true;
    queueMicrotask(forgetLastMessage);
  }
  return body;
}

/** msgpack of the array header, kind and id of an envelope (ids are safe non-negative integers). */
function writeEnvelopeHead(buf: Buffer, kind: number, id: number): number {
  buf[0] = 0x93;
  buf[1] = kind;
  if (id < 0x80) {
    buf[2] = id;
    return 3;
  }
  if (id < 0x100) {
    buf[2] = 0xcc;
    buf[3] = id;
    return 4;
  }
  if (id < 0x10000) {
    buf[2] = 0xcd;
    buf.writeUInt16BE(id, 3);
    return 5;
  }
  if (id < 0x100000000) {
    buf[2] = 0xce;
    buf.writeUInt32BE(id, 3);
    return 7;
  }
  // As msgpackr writes larger integers: a float64 (exact up to 2^53), which
  // decodes as a number, where a uint64 would decode as a BigInt.
  buf[2] = 0xcb;
  buf.writeDoubleBE(id, 3);
  return 11;
}

/** A frame from envelopes packed with encodeEnvelope(), in order. */
export function frameOf(parts: readonly Buffer[], bytes?: number): Buffer {
  const n = parts.length;
  assert(n > 0, 'a frame holds at least one envelope');
  let total = bytes ?? 0;
  if (bytes === undefined) for (const p of parts) total += p.length;
  let header: Buffer;
  if (n < 16) header = Buffer.from([0x90 | n]);
  else if (n < 0x10000) header = Buffer.from([0xdc, n >> 8, n & 0xff]);
  else header = Buffer.from([0xdd, (n >>> 24) & 0xff, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff]);
  return Buffer.concat([header, ...parts], header.length + total);
}

export function encodeFrame<M extends PeerMessage>(envelopes: readonly Envelope<M>[]): Buffer {
  return frameOf(envelopes.map(encodeEnvelope));
}

/** Decode and validate a frame from the wire; throws only BadFrameError. */
export function decodeFrame(buf: Uint8Array): Envelope[] {
  if (!(buf instanceof Uint8Array)) throw new BadFrameError('frame is not binary');
  if (buf.length === 0) throw new BadFrameError('empty frame');
  let value: unknown;
  try {
    value = unpackr.unpack(buf);
  } catch (err) {
    // msgpackr throws plain Errors (and a RangeError on absurd nesting).
    const why = err instanceof Error ? err.message : String(err);
    throw new BadFrameError(`frame is not valid msgpack: ${why.slice(0, 200)}`);
  }
  if (!Array.isArray(value)) throw new BadFrameError('frame is not an array of envelopes');
  if (value.length === 0) throw new BadFrameError('frame holds no envelopes');
  for (let i = 0; i < value.length; i++) {
    const problem = envelopeProblem(value[i]);
    if (problem !== null) throw new BadFrameError(`envelope ${i}: ${problem}`);
  }
  return value as Envelope[];
}

/** Whether a value is a peer message: a plain object with a non-empty string `type`. */
export function isPeerMessage(msg: unknown): msg is PeerMessage {
  return isPlainObject(msg) && typeof msg.type === 'string' && msg.type.length > 0;
}

function assertEnvelope(env: Envelope<PeerMessage>): void {
  const problem = envelopeProblem(env);
  assert(problem === null, `cannot encode envelope: ${problem}`);
}

/** Why a value is not an envelope, or null when it is one. */
function envelopeProblem(env: unknown): string | null {
  if (!Array.isArray(env) || env.length !== 3) return 'not a [kind, id, msg] triple';
  const [kind, id, msg] = env as unknown[];
  if (kind !== KIND_REQUEST && kind !== KIND_REPLY && kind !== KIND_ONE_WAY && kind !== KIND_ERROR) {
    return `unknown kind ${describe(kind)}`;
  }
  if (typeof id !== 'number' || !Number.isSafeInteger(id)) return `id ${describe(id)} is not an integer`;
  if (kind === KIND_ONE_WAY ? id !== 0 : id < 1) {
    return `id ${id} is not valid for kind ${kind} (one-way ids are 0, others >= 1)`;
  }
  if (kind === KIND_ERROR) {
    if (!isPlainObject(msg)) return 'error body is not an object';
    if (typeof msg.code !== 'string' || typeof msg.message !== 'string') return 'error body lacks a string code and message';
    if (msg.status !== undefined && !(Number.isInteger(msg.status) && (msg.status as number) >= 100 && (msg.status as number) <= 599)) {
      return `error status ${describe(msg.status)} is not an HTTP status`;
    }
    return null;
  }
  if (!isPeerMessage(msg)) return 'message is not an object with a string type';
  return null;
}

function isPlainObject(x: unknown): x is Record<string, unknown> {
  if (typeof x !== 'object' || x === null) return false;
  const proto = Object.getPrototypeOf(x);
  return proto === Object.prototype || proto === null;
}

function describe(x: unknown): string {
  if (typeof x === 'bigint') return `${x}n`;
  if (typeof x === 'string') return JSON.stringify(x.slice(0, 40));
  if (typeof x === 'number' || typeof x === 'boolean' || x === null || x === undefined) return String(x);
  return typeof x;
}
