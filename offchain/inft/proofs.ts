import { getAddress, hexlify, keccak256, Signature, ZeroHash } from "ethers";
import { ZgError } from "../core/errors";
import {
  domainSeparator,
  publicKeyToAddress,
  recoverPublicKey,
  typedDigest,
  typeHash,
} from "../core/signatures";

// The EIP-712 proofs AgentNFT checks: the receiver's access proof and the oracle's ownership proof. The pair shares
// one nonce (the receiver's) and one deadline. `bytes` fields are signed as their keccak256, as EIP-712 encodes
// dynamic values; on the wire (JSON between client and oracle) proofs carry the full key and a 65-byte signature,
// and `toContract*` turn them into the compact structs the contract takes.

const ACCESS_TYPEHASH = typeHash(
  "AccessProof(bytes32 dataHash,bytes targetPubkey,uint256 nonce,uint256 deadline)",
);
const OWNERSHIP_TYPEHASH = typeHash(
  "OwnershipProof(uint8 oracleType,bytes32 oldDataHash,bytes32 newDataHash,bytes sealedKey,bytes targetPubkey,uint256 nonce,uint256 deadline)",
);

/** `IERC7857DataVerifier.OracleType`; only TEE-style (signature) oracles exist. */
export const ORACLE_TYPE_TEE = 0;

/** How long the proofs this SDK asks for stay valid (the verifier accepts at most 7 days). */
export const PROOF_VALIDITY_SECONDS = 3_600;

/** A receiver's consent, as it travels to the oracle: it fixes the nonce and deadline of the pair. */
export interface AccessProof {
  nonce: bigint;
  deadline: bigint;
  signature: string;
}

export interface OwnershipProof {
  oracleType: number;
  oldDataHash: string;
  newDataHash: string;
  sealedKey: string;
  targetPubkey: string;
  nonce: bigint;
  deadline: bigint;
  signature: string;
}

export interface TransferValidityProof {
  accessProof: AccessProof;
  ownershipProof: OwnershipProof;
}

/** The signing domain of one AgentNFT (it checks the proofs itself). */
export class ProofDomain {
  readonly separator: string;

  constructor(chainId: number, agentNft: string) {
    this.separator = domainSeparator({
      name: "zerog AgentNFT",
      version: "1",
      chainId,
      verifyingContract: agentNft,
    });
  }

  accessDigest(dataHash: string, targetPubkey: string, nonce: bigint, deadline: bigint): string {
    return typedDigest(
      this.separator,
      ACCESS_TYPEHASH,
      ["bytes32", "bytes32", "uint256", "uint256"],
      [dataHash, keccak256(targetPubkey), nonce, deadline],
    );
  }

  ownershipDigest(proof: Omit<OwnershipProof, "signature">): string {
    return typedDigest(
      this.separator,
      OWNERSHIP_TYPEHASH,
      ["uint8", "bytes32", "bytes32", "bytes32", "bytes32", "uint256", "uint256"],
      [
        proof.oracleType,
        proof.oldDataHash,
        proof.newDataHash,
        keccak256(proof.sealedKey),
        keccak256(proof.targetPubkey),
        proof.nonce,
        proof.deadline,
      ],
    );
  }

  /**
   * Who signed an access proof for `dataHash`, and the public key the signature recovers to: the oracle seals
   * the new key to that key when the receiver signed it themselves.
   */
  accessSigner(
    dataHash: string,
    targetPubkey: string,
    proof: AccessProof,
  ): { signer: string; publicKey: string } | undefined {
    const publicKey = recoverPublicKey(
      this.accessDigest(dataHash, targetPubkey, proof.nonce, proof.deadline),
      proof.signature,
    );
    return publicKey ? { signer: publicKeyToAddress(publicKey), publicKey: hexlify(publicKey) } : undefined;
  }
}

/**
 * A receiver's proof nonces: the time in milliseconds times 64 plus the entry index, so that one call's nonces share
 * a bitmap word and calls never reuse one.
 */
export function proofNonce(entry: number, now = Date.now()): bigint {
  if (entry < 0 || entry >= 64) throw new ZgError("at most 64 data entries per proof batch", "BAD_INPUT");
  return BigInt(now) * 64n + BigInt(entry);
}

/** The address a 64-byte public key belongs to (checksummed). */
export function pubkeyAddress(targetPubkey: string): string {
  return getAddress(publicKeyToAddress(targetPubkey));
}

/** `oldDataHash` of a proof that creates an entry (mint, or an entry appended by update). */
export const NEW_ENTRY = ZeroHash;

/** The ERC-2098 compact form (`r`, `vs`) of a 65-byte signature, as the contract takes it. */
export function compactSignature(signature: string): { r: string; vs: string } {
  const parsed = Signature.from(signature);
  return { r: parsed.r, vs: parsed.yParityAndS };
}

/** An ownership proof as `AgentNFT` takes it: the key as its hash, the signature compact. */
export function toContractOwnership(proof: OwnershipProof) {
  return {
    oracleType: proof.oracleType,
    oldDataHash: proof.oldDataHash,
    newDataHash: proof.newDataHash,
    sealedKey: proof.sealedKey,
    targetPubkeyHash: keccak256(proof.targetPubkey),
    nonce: BigInt(proof.nonce),
    deadline: BigInt(proof.deadline),
    ...compactSignature(proof.signature),
  };
}

/** A transfer proof as `AgentNFT` takes it. */
export function toContractTransfer(proof: TransferValidityProof) {
  return {
    accessProof: compactSignature(proof.accessProof.signature),
    ownershipProof: toContractOwnership(proof.ownershipProof),
  };
}
