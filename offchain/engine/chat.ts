// The chat requests every engine runs: what the inference protocol hashes and signs, and what the iNFT sealed
// executor runs an agent's model on.

/** One chat message. */
export interface ChatMessage {
  role: "system" | "user" | "assistant";
  content: string;
}

/** A chat request with every parameter explicit: what the request hash covers and what re-execution replays. */
export interface CanonicalRequest {
  model: string;
  messages: ChatMessage[];
  max_tokens: number;
  temperature: number;
  seed: number;
}
