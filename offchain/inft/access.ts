import { getAddress, isAddress } from "ethers";
import { z } from "zod";
import { describeIssue } from "../core/config";
import { ZgError } from "../core/errors";

/** The most entries the iNFT oracle seals or re-encrypts in one request (a transfer has one access proof each). */
export const MAX_AGENT_ENTRIES = 32;

/** What a receiver signs to accept a token: one access proof per entry, over its current hash and their key. */
export interface AccessBundle {
  tokenId: string;
  to: string;
  targetPubkey: string;
  accessProofs: { nonce: string; deadline: string; signature: string }[];
}

/** Why an access bundle was refused: not JSON, a field missing or malformed, or for another token or receiver. */
export type AccessBundleProblem = "not-json" | "malformed" | "mismatch";

/** A refused access bundle, with one line naming what is wrong. */
export class AccessBundleError extends ZgError {
  constructor(
    readonly problem: AccessBundleProblem,
    message: string,
  ) {
    super(message, "BAD_INPUT");
    this.name = "AccessBundleError";
  }
}

/** A 64-byte uncompressed secp256k1 public key without its 04 prefix, as access and ownership proofs carry it. */
export const publicKeySchema = z
  .string()
  .regex(/^0x[0-9a-fA-F]{128}$/, "must be a 64-byte uncompressed public key (0x + 128 hex)");

const accessBundleSchema = z
  .object({
    tokenId: z.string().regex(/^\d{1,78}$/, "must be a token id (decimal digits)"),
    to: z.string().refine(isAddress, "must be an address"),
    targetPubkey: publicKeySchema,
    accessProofs: z
      .array(
        z
          .object({
            nonce: z.string().regex(/^\d{1,78}$/, "must be a nonce (decimal digits)"),
            deadline: z.string().regex(/^\d{1,20}$/, "must be a unix time (decimal digits)"),
            signature: z.string().regex(/^0x[0-9a-fA-F]{130}$/, "must be a 65-byte signature (0x + 130 hex)"),
          })
          .strict(),
      )
      .min(1)
      .max(MAX_AGENT_ENTRIES),
  })
  .strict();

/**
 * The access bundle in `json`, its JSON text (a file a receiver wrote with `zg inft accept`) or its decoded value
 * (a request body), with every field checked and `to` checksummed. With `tokenId` and `to`, it must be for that
 * token and receiver. Anything else is an AccessBundleError naming `source` and what is wrong.
 */
export function parseAccessBundle(
  json: unknown,
  options: { source?: string; tokenId?: bigint; to?: string } = {},
): AccessBundle {
  const source = options.source ?? "access bundle";
  let value = json;
  if (typeof json === "string") {
    try {
      value = JSON.parse(json);
    } catch {
      throw new AccessBundleError("not-json", `${source} is not valid JSON`);
    }
  }
  const parsed = accessBundleSchema.safeParse(value);
  if (!parsed.success) throw new AccessBundleError("malformed", `${source}: ${describeIssue(parsed.error)}`);
  const bundle = { ...parsed.data, to: getAddress(parsed.data.to) };
  const { tokenId, to } = options;
  if (
    (tokenId !== undefined && BigInt(bundle.tokenId) !== tokenId) ||
    (to !== undefined && bundle.to !== getAddress(to))
  ) {
    throw new AccessBundleError(
      "mismatch",
      `${source} is for token ${bundle.tokenId} and ${bundle.to}, not token ${tokenId ?? bundle.tokenId} and ${to === undefined ? bundle.to : getAddress(to)}`,
    );
  }
  return bundle;
}
