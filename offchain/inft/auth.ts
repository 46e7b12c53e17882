import { hashMessage, keccak256, toUtf8Bytes } from "ethers";
import type { ZgChain } from "../core/chain";
import { ZgError } from "../core/errors";
import { recoverSigner } from "../core/signatures";

/** The sealed executor's route for agent `tokenId` (OpenAI chat completions). */
export const agentChatRoute = (tokenId: bigint) => `/v1/inft/${tokenId}/chat/completions`;

/** The model id of agent `tokenId`: its own model, which the sealed executor runs. */
export const agentModelId = (tokenId: bigint) => `zg-agent-${tokenId}`;

/** The header carrying a caller's signature over a request to the iNFT oracle. */
export const AUTH_HEADER = "x-zg-auth";
const MAX_AGE_SECONDS = 600;

function message(route: string, body: string, expires: number): string {
  return `zerog-stack iNFT request\nroute: ${route}\nbody: ${keccak256(toUtf8Bytes(body))}\nexpires: ${expires}`;
}

/** `<expires>:<signature>`: the caller's EIP-191 signature over the route, the body's hash and an expiry. */
export function authHeader(chain: ZgChain, route: string, body: string): string {
  const expires = Math.floor(Date.now() / 1000) + MAX_AGE_SECONDS / 2;
  return `${expires}:${chain.signDigest(hashMessage(message(route, body, expires)))}`;
}

/** Who signed a request; a missing, expired or malformed authorization is a one-line BAD_INPUT error. */
export function requestSigner(header: string | undefined, route: string, body: string): string {
  const match = /^(\d{1,12}):(0x[0-9a-fA-F]{130})$/.exec(header ?? "");
  if (!match) throw new ZgError(`header ${AUTH_HEADER} must be <expires>:<signature>`, "BAD_INPUT");
  const expires = Number(match[1]);
  const now = Math.floor(Date.now() / 1000);
  if (expires < now || expires > now + MAX_AGE_SECONDS) {
    throw new ZgError(`the request authorization expired or lies too far ahead (${expires})`, "BAD_INPUT");
  }
  const signer = recoverSigner(hashMessage(message(route, body, expires)), match[2]);
  if (!signer) throw new ZgError("the request authorization signature is invalid", "BAD_INPUT");
  return signer;
}
