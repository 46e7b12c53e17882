import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from "node:crypto";
import { getBytes, hexlify } from "ethers";
import * as secp from "tiny-secp256k1";
import { ZgError } from "../core/errors";

// An agent's data is encrypted with AES-256-GCM under a random data key; the key is sealed to a secp256k1
// public key with ECIES (ephemeral ECDH, HKDF-SHA256, AES-256-GCM). Every key an owner holds opens with their
// Ethereum key, so no separate key registry is needed.

const MAGIC = Buffer.from("ZGA1");
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;
const SEAL_INFO = Buffer.from("zerog-stack iNFT sealed key v1");
/** compressed ephemeral public key ‖ iv ‖ encrypted key ‖ tag */
export const SEALED_KEY_BYTES = 33 + IV_BYTES + KEY_BYTES + TAG_BYTES;

/** A fresh random AES-256 data key. */
export function newDataKey(): Uint8Array {
  return new Uint8Array(randomBytes(KEY_BYTES));
}

/** `ZGA1 ‖ iv ‖ ciphertext ‖ tag`: the bytes stored in 0G storage, whose root is the token's data hash. */
export function encryptData(key: Uint8Array, plaintext: Uint8Array): Uint8Array {
  requireKey(key);
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  cipher.setAAD(MAGIC);
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return new Uint8Array(Buffer.concat([MAGIC, iv, body, cipher.getAuthTag()]));
}

/** Opens what `encryptData` made; a wrong key or any altered byte is a one-line error. */
export function decryptData(key: Uint8Array, sealed: Uint8Array): Uint8Array {
  requireKey(key);
  const bytes = Buffer.from(sealed);
  if (bytes.length < MAGIC.length + IV_BYTES + TAG_BYTES || !bytes.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw new ZgError("the agent data is not in the ZGA1 encrypted format", "BAD_INPUT");
  }
  const iv = bytes.subarray(MAGIC.length, MAGIC.length + IV_BYTES);
  const body = bytes.subarray(MAGIC.length + IV_BYTES, bytes.length - TAG_BYTES);
  const decipher = createDecipheriv("aes-256-gcm", key, iv);
  decipher.setAAD(MAGIC);
  decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
  try {
    return new Uint8Array(Buffer.concat([decipher.update(body), decipher.final()]));
  } catch {
    throw new ZgError("the agent data does not open with this key (wrong key or altered data)", "BAD_INPUT");
  }
}

/** Seals a data key to a 64-byte (or 65 with 0x04) uncompressed secp256k1 public key. */
export function sealKey(key: Uint8Array, publicKey: Uint8Array | string): Uint8Array {
  requireKey(key);
  const recipient = toPoint(publicKey);
  let ephemeral: Buffer;
  do ephemeral = randomBytes(32);
  while (!secp.isPrivate(ephemeral));
  const ephemeralPublic = secp.pointFromScalar(ephemeral, true) as Uint8Array;
  const shared = secp.pointMultiply(recipient, ephemeral, true) as Uint8Array;
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv("aes-256-gcm", wrapKey(shared, ephemeralPublic), iv);
  cipher.setAAD(ephemeralPublic);
  const body = Buffer.concat([cipher.update(key), cipher.final()]);
  return new Uint8Array(Buffer.concat([ephemeralPublic, iv, body, cipher.getAuthTag()]));
}

/** Opens a sealed key with the recipient's private key; anyone else gets a one-line error. */
export function openKey(sealed: Uint8Array | string, privateKey: string | Uint8Array): Uint8Array {
  const bytes = Buffer.from(getBytes(sealed));
  if (bytes.length !== SEALED_KEY_BYTES) {
    throw new ZgError(`a sealed key is ${SEALED_KEY_BYTES} bytes, not ${bytes.length}`, "BAD_INPUT");
  }
  const ephemeralPublic = bytes.subarray(0, 33);
  if (!secp.isPoint(ephemeralPublic)) throw new ZgError("the sealed key is malformed", "BAD_INPUT");
  const shared = secp.pointMultiply(ephemeralPublic, getBytes(privateKey), true) as Uint8Array;
  const iv = bytes.subarray(33, 33 + IV_BYTES);
  const decipher = createDecipheriv("aes-256-gcm", wrapKey(shared, ephemeralPublic), iv);
  decipher.setAAD(ephemeralPublic);
  decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
  try {
    return new Uint8Array(
      Buffer.concat([
        decipher.update(bytes.subarray(33 + IV_BYTES, bytes.length - TAG_BYTES)),
        decipher.final(),
      ]),
    );
  } catch {
    throw new ZgError("this sealed key is not for this private key", "BAD_INPUT");
  }
}

/** The 64-byte uncompressed public key (no 0x04 prefix) of a private key, as the contracts take it. */
export function publicKeyOf(privateKey: string | Uint8Array): string {
  const point = secp.pointFromScalar(getBytes(privateKey), false) as Uint8Array;
  return hexlify(point.subarray(1));
}

function wrapKey(shared: Uint8Array, ephemeralPublic: Uint8Array): Buffer {
  return Buffer.from(hkdfSync("sha256", shared, ephemeralPublic, SEAL_INFO, KEY_BYTES));
}

function toPoint(publicKey: Uint8Array | string): Uint8Array {
  const bytes = getBytes(publicKey);
  const point = bytes.length === 64 ? new Uint8Array([4, ...bytes]) : bytes;
  if (!secp.isPoint(point)) throw new ZgError("not a secp256k1 public key", "BAD_INPUT");
  return point;
}

function requireKey(key: Uint8Array): void {
  if (key.length !== KEY_BYTES)
    throw new ZgError(`a data key is ${KEY_BYTES} bytes, not ${key.length}`, "BAD_INPUT");
}
