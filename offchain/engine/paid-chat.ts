import type { IncomingMessage, ServerResponse } from "node:http";
import { Capability } from "../core/worker";
import type { CanonicalRequest } from "./chat";
import type { Engine } from "./engines";

/**
 * The model a paid chat request runs. The user is known once the request's signature is checked; the target then
 * authorizes them, the fee's worst case is checked against their funds, and only then is the engine loaded.
 */
export interface ChatTarget {
  /** The model id the request must name. */
  model: string;
  /** Refuses `user` (throws) when they may not use the target; it does no work for them. */
  authorize(user: string): Promise<void>;
  /** The most input tokens `request` can count as, known without loading the engine. */
  inputTokenBound(request: CanonicalRequest): number;
  /** The engine, for an authorized user whose funds cover the request (it may download and train a model). */
  engine(): Promise<Engine>;
}

/**
 * Paid chat, as the inference service of a worker offers it to the services started after it (the iNFT sealed
 * executor): requests carrying the user's voucher, answered with a signed receipt and settled on-chain.
 */
export interface PaidChat {
  /** Where paid chat is served: the public URL and region of the provider's on-chain service. */
  readonly endpoint: { url: string; region: string };
  /** Serves one paid chat request with the target's engine; resolves to the chat completion with its receipt. */
  chat(request: IncomingMessage, response: ServerResponse, target: ChatTarget): Promise<unknown>;
}

export const PAID_CHAT = new Capability<PaidChat>("paid-chat");
