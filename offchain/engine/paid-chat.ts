import type { IncomingMessage, ServerResponse } from "node:http";
import { Capability } from "../core/worker";
import type { Engine } from "./engines";

/** The model a paid chat request runs, known once the request's voucher proves who asks. */
export interface ChatTarget {
  /** The model id the request must name. */
  model: string;
  /** The engine that answers `user`; it throws to refuse the user, before any work is done for them. */
  engineFor(user: string): Promise<Engine>;
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
