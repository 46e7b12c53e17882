/**
 * BN254 BLS for DA signers (docs/da.md, "BLS"): keys, the contract's hash to G1, signing, aggregation and the
 * same γ-combined 2-pair check as `BN254.verify` on-chain, and the registration and attestation messages.
 */
import { bn254 } from "@noble/curves/bn254";
import { AbiCoder, concat, getBytes, keccak256, toBeHex, toUtf8Bytes, zeroPadValue } from "ethers";
import type { G1Point, G2Point } from "./types";

type G1 = InstanceType<typeof bn254.G1.ProjectivePoint>;
type G2 = InstanceType<typeof bn254.G2.ProjectivePoint>;

const G1P = bn254.G1.ProjectivePoint;
const G2P = bn254.G2.ProjectivePoint;
const Fp = bn254.fields.Fp;
const Fp2 = bn254.fields.Fp2;
const Fp12 = bn254.fields.Fp12;
/** The base field modulus and the group order. */
export const P = Fp.ORDER;
export const R = bn254.fields.Fr.ORDER;
const SQRT_EXPONENT = (P + 1n) / 4n;
const abi = AbiCoder.defaultAbiCoder();

/** A DA signer's BLS key: the secret and both public keys in the contracts' encoding. */
export interface BlsKey {
  secret: bigint;
  pkG1: G1Point;
  pkG2: G2Point;
}

/** The key of secret scalar `secret` (1 ≤ secret < r). */
function keyOf(secret: bigint): BlsKey {
  return { secret, pkG1: toG1(G1P.BASE.multiply(secret)), pkG2: toG2(G2P.BASE.multiply(secret)) };
}

/** A deterministic key from a 32-byte secret: sk = keccak256("zerog-stack DA BLS key" ‖ secret) mod (r − 1) + 1. */
export function blsKeyFromSecret(secret: Uint8Array | string): BlsKey {
  const bytes = getBytes(secret);
  if (bytes.length !== 32) throw new RangeError(`a BLS secret is 32 bytes, not ${bytes.length}`);
  const digest = BigInt(keccak256(concat([toUtf8Bytes("zerog-stack DA BLS key"), bytes])));
  return keyOf((digest % (R - 1n)) + 1n);
}

/**
 * The BLS key of the operator whose secp256k1 private key is `privateKey`, so that a node needs one key:
 * `blsKeyFromSecret(keccak256("zerog-stack DA signer of" ‖ privateKey))`.
 */
export function blsKeyFromOperatorKey(privateKey: string): BlsKey {
  return blsKeyFromSecret(keccak256(concat([toUtf8Bytes("zerog-stack DA signer of"), getBytes(privateKey)])));
}

/** A G1 point in the contracts' encoding (the point at infinity is (0, 0)). */
export function toG1(point: G1): G1Point {
  if (point.equals(G1P.ZERO)) return { X: 0n, Y: 0n };
  const { x, y } = point.toAffine();
  return { X: x, Y: y };
}

/** A G2 point in the contracts' encoding: imaginary part first. */
export function toG2(point: G2): G2Point {
  if (point.equals(G2P.ZERO)) return { X: [0n, 0n], Y: [0n, 0n] };
  const { x, y } = point.toAffine();
  return { X: [x.c1, x.c0], Y: [y.c1, y.c0] };
}

/** Back from the contracts' encoding (checks that the point is on the curve). */
export function fromG1(point: G1Point): G1 {
  if (point.X === 0n && point.Y === 0n) return G1P.ZERO;
  const p = G1P.fromAffine({ x: point.X, y: point.Y });
  p.assertValidity();
  return p;
}

export function fromG2(point: G2Point): G2 {
  if (point.X.every((c) => c === 0n) && point.Y.every((c) => c === 0n)) return G2P.ZERO;
  const p = G2P.fromAffine({
    x: Fp2.create({ c0: point.X[1], c1: point.X[0] }),
    y: Fp2.create({ c0: point.Y[1], c1: point.Y[0] }),
  });
  p.assertValidity();
  return p;
}

/**
 * Hash to G1 exactly as `BN254.hashToG1`: x = messageHash mod p, then x+1, x+2, … until x³ + 3 is a square;
 * y = (x³ + 3)^((p+1)/4).
 */
export function hashToG1(messageHash: string): G1Point {
  for (let x = BigInt(messageHash) % P; ; x = (x + 1n) % P) {
    const rhs = Fp.add(Fp.mul(Fp.sqr(x), x), 3n);
    const y = Fp.pow(rhs, SQRT_EXPONENT);
    if (Fp.sqr(y) === rhs) return { X: x, Y: y };
  }
}

/**
 * The witness with which `BN254.hashToG1(messageHash, hint)` checks `hashToG1(messageHash)` instead of searching
 * for it: `[w₀, …, w_{k−1}, y, s]`, one w per x skipped (w² = −(x³ + 3): x³ + 3 is not a square), then the
 * point's y and s with s² = y (y is the square root the exponent gives).
 */
export function hashToG1Hint(messageHash: string): bigint[] {
  const hint: bigint[] = [];
  for (let x = BigInt(messageHash) % P; ; x = (x + 1n) % P) {
    const rhs = Fp.add(Fp.mul(Fp.sqr(x), x), 3n);
    const y = Fp.pow(rhs, SQRT_EXPONENT);
    if (Fp.sqr(y) === rhs) {
      hint.push(y, Fp.pow(y, SQRT_EXPONENT));
      return hint;
    }
    hint.push(Fp.pow(Fp.neg(rhs), SQRT_EXPONENT));
  }
}

/** σ = sk · H(message). */
export function sign(secret: bigint, messageHash: string): G1Point {
  return toG1(fromG1(hashToG1(messageHash)).multiply(secret));
}

/** Σ of G1 points (signatures or public keys). */
export function aggregateG1(points: readonly G1Point[]): G1Point {
  return toG1(points.reduce<G1>((sum, p) => sum.add(fromG1(p)), G1P.ZERO));
}

/** Σ of G2 public keys. */
export function aggregateG2(points: readonly G2Point[]): G2Point {
  return toG2(points.reduce<G2>((sum, p) => sum.add(fromG2(p)), G2P.ZERO));
}

const word = (v: bigint) => zeroPadValue(toBeHex(v), 32);

/** γ = keccak256(abi.encode(H, apk, apkG2, σ)) mod r, as the contract derives it. */
export function gamma(h: G1Point, apk: G1Point, apkG2: G2Point, sigma: G1Point): bigint {
  const words = [h.X, h.Y, apk.X, apk.Y, ...apkG2.X, ...apkG2.Y, sigma.X, sigma.Y].map(word);
  return BigInt(keccak256(concat(words))) % R;
}

/**
 * The on-chain check: e(σ + γ·apk, −G2) · e(H + γ·G1, apkG2) = 1, i.e. σ signs `messageHash` under `apkG2` and
 * `apk` has the same secret. False for points off the curve.
 */
export function verify(messageHash: string, apk: G1Point, apkG2: G2Point, sigma: G1Point): boolean {
  let points: [G1, G2, G1];
  try {
    points = [fromG1(apk), fromG2(apkG2), fromG1(sigma)];
  } catch {
    return false;
  }
  const h = hashToG1(messageHash);
  const g = gamma(h, apk, apkG2, sigma);
  const left = points[2].add(points[0].multiply(g));
  const right = fromG1(h).add(G1P.BASE.multiply(g));
  const product = bn254.pairingBatch([
    { g1: left, g2: G2P.BASE.negate() },
    { g1: right, g2: points[1] },
  ]);
  return Fp12.eql(product, Fp12.ONE);
}

/** What an operator signs to register its key (the proof of possession's message), as DASigners hashes it. */
export function registrationMessage(
  chainId: bigint,
  signersContract: string,
  operator: string,
  pkG1: G1Point,
): string {
  return keccak256(
    abi.encode(
      ["string", "uint256", "address", "address", "uint256", "uint256"],
      ["zerog-stack DA signer", chainId, signersContract, operator, pkG1.X, pkG1.Y],
    ),
  );
}

/** What a signer signs to attest payload `payloadId` in `epoch`, as DAEntrance hashes it. */
export function attestationMessage(
  chainId: bigint,
  entrance: string,
  payloadId: string,
  epoch: bigint,
): string {
  return keccak256(
    abi.encode(
      ["string", "uint256", "address", "bytes32", "uint256"],
      ["zerog-stack DA attestation", chainId, entrance, payloadId, epoch],
    ),
  );
}

/** The proof of possession `DASigners.register` takes: the key's signature of its registration message. */
export function proofOfPossession(
  key: BlsKey,
  chainId: bigint,
  signersContract: string,
  operator: string,
): G1Point {
  return sign(key.secret, registrationMessage(chainId, signersContract, operator, key.pkG1));
}
