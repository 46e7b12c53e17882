import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";
import { getAddress } from "ethers";
import { ZgError } from "../core/errors";
import { requestJson } from "../core/http";
import { zgHome } from "../core/paths";
import type { ServiceInfo, ServingClient } from "./client";
import type { CanonicalRequest, ChatMessage } from "../engine/chat";
import { canonicalRequest } from "../engine/engines";
import {
  encodeReadHeader,
  encodeRequestHeader,
  encodeVoucherHeader,
  READ_HEADER,
  receiptProblems,
  REQUEST_HEADER,
  requestHash,
  USER_HEADER,
  VOUCHER_HEADER,
  type Receipt,
  type SignedVoucher,
} from "./protocol";
import { reexecute } from "./receipts";

/**
 * What a user's client remembers per provider: the voucher covering responses 1..seq (the one the provider holds,
 * or the first one this client sends it), and the highest voucher nonce this key signed for the provider.
 */
interface BookState {
  amount: string;
  nonce: string;
  signature: string | null;
  seq: number;
  /** The highest nonce signed (the next voucher's is above it, and above the provider's and the chain's). */
  signed?: string;
}

/** How long a read authorization of the account is valid (seconds). */
const READ_SECONDS = 300;

export interface InferenceParams {
  max_tokens?: number;
  temperature?: number;
  seed?: number;
}

export interface InferenceResult {
  content: string;
  fee: bigint;
  receipt: Receipt;
  receiptFile: string;
  provider: string;
}

interface AccountView {
  seq: number;
  owed: string;
  voucher: { amount: string; nonce: string; signature: string } | null;
  pending: Receipt[];
}

/**
 * One user's side of the inference protocol with one provider. A request carries the user's signature of it (its
 * hash and its number) and the voucher covering every earlier response; each response is verified (signature by
 * the registered signer, hashes, fee = tokens × on-chain prices, and for the deterministic built-in model a local
 * re-execution) and only then acknowledged with a voucher for its cumulative fee. A response that fails
 * verification is never acknowledged, so the provider cannot be paid for it.
 */
export class InferenceSession {
  private constructor(
    private readonly client: ServingClient,
    private readonly service: ServiceInfo,
    private readonly user: string,
    private readonly bookFile: string,
    private book: BookState,
    private readonly receiptsDir: string,
  ) {}

  static async open(client: ServingClient, provider: string): Promise<InferenceSession> {
    const user = client.chain.address;
    if (!user)
      throw new ZgError("inference signs vouchers: pass --key <keystore> or --private-key", "BAD_CONFIG");
    const service = await client.service(getAddress(provider));
    const scope = path.join(
      zgHome(),
      "serving",
      `${client.chain.chainId}-${client.domain.verifyingContract.toLowerCase()}`,
      service.provider.toLowerCase(),
    );
    const bookFile = path.join(scope, `${user.toLowerCase()}.json`);
    const book: BookState = existsSync(bookFile)
      ? (JSON.parse(readFileSync(bookFile, "utf8")) as BookState)
      : { amount: "0", nonce: "0", signature: null, seq: 0 };
    return new InferenceSession(
      client,
      service,
      user,
      bookFile,
      book,
      path.join(scope, "receipts", user.toLowerCase()),
    );
  }

  /**
   * Sends one chat request and returns the verified, acknowledged answer. `target` sends it to another model of the
   * same provider (an agent's, through the sealed executor), whose weights the user cannot hold: its model hash is
   * taken as stated and it is not re-executed.
   */
  async chat(
    messages: ChatMessage[],
    params: InferenceParams = {},
    target: { route: string; model: string } = { route: "/v1/chat/completions", model: this.service.model },
  ): Promise<InferenceResult> {
    const own = target.model === this.service.model;
    const request = canonicalRequest({ model: target.model, messages, ...params }, target.model);
    return (await this.send(request, target.route, own)).result;
  }

  /** The provider's registered service (its model, prices, signer, URL). */
  get registered(): ServiceInfo {
    return this.service;
  }

  /**
   * Sends one canonical request to the provider's model and returns the verified, acknowledged answer with the
   * provider's chat-completion body (what `zg proxy` passes on).
   */
  async send(
    request: CanonicalRequest,
    route = "/v1/chat/completions",
    own = request.model === this.service.model,
  ): Promise<{ result: InferenceResult; body: Record<string, unknown> }> {
    const { headers, hash } = await this.prepare(request);
    const body = (await this.call(route, {
      method: "POST",
      headers,
      body: JSON.stringify(request),
    })) as Record<string, unknown>;
    const receipt = (body as { zg_receipt?: Receipt }).zg_receipt;
    if (!receipt) throw new ZgError(`${this.service.url} answered without a receipt`, "NETWORK");
    const choice = (body as { choices?: { message?: { content?: string }; finish_reason?: string }[] })
      .choices?.[0];
    const result = await this.accept(receipt, hash, own, choice?.message?.content, choice?.finish_reason);
    return { result, body };
  }

  /**
   * Sends one canonical request for a streamed answer (Server-Sent Events). Each content chunk is handed to
   * `onChunk` as it arrives; the chunk with the finish reason and the receipt are held until the stream ended and
   * the receipt verified against the content relayed (its hash, fee, number, signer and, for the deterministic
   * built-in model, a re-execution). Only then is the response acknowledged; the held chunks are returned.
   */
  async stream(
    request: CanonicalRequest,
    onChunk: (chunk: StreamChunk) => void,
  ): Promise<{ result: InferenceResult; final: StreamChunk; usage: StreamChunk }> {
    const { headers, hash } = await this.prepare(request);
    const url = `${this.service.url.replace(/\/+$/, "")}/v1/chat/completions`;
    const label = `provider ${this.service.provider}`;
    let response: Response;
    try {
      response = await fetch(url, {
        method: "POST",
        headers,
        body: JSON.stringify({ ...request, stream: true }),
        signal: AbortSignal.timeout(120_000),
      });
    } catch (error) {
      throw new ZgError(`cannot reach ${label}: ${(error as Error).message}`, "NETWORK");
    }
    if (!response.ok || !(response.headers.get("content-type") ?? "").startsWith("text/event-stream")) {
      const text = await response.text();
      let message = text.slice(0, 200);
      try {
        message = (JSON.parse(text) as { error?: { message?: string } }).error?.message ?? message;
      } catch {
        // not JSON: the start of the body is the message
      }
      throw new ZgError(
        `${label} answered HTTP ${response.status}${response.ok ? " without an event stream" : ""}: ${message}`,
        response.status >= 400 && response.status < 500 ? "BAD_INPUT" : "NETWORK",
      );
    }
    let content = "";
    let final: StreamChunk | undefined;
    let usage: StreamChunk | undefined;
    let receipt: Receipt | undefined;
    const problems: string[] = [];
    for await (const data of sseData(response, label)) {
      if (data === "[DONE]") break;
      let chunk: StreamChunk & { error?: { message?: string }; zg_receipt?: Receipt };
      try {
        chunk = JSON.parse(data) as typeof chunk;
      } catch {
        throw new ZgError(`${label} streamed an event that is not JSON`, "NETWORK");
      }
      if (chunk.error) {
        throw new ZgError(
          `${label} ended the stream with an error: ${chunk.error.message ?? "?"}`,
          "NETWORK",
        );
      }
      if (receipt) problems.push("the stream goes on after the receipt");
      if (chunk.zg_receipt) {
        const { zg_receipt, ...rest } = chunk;
        receipt = zg_receipt;
        usage = rest;
        continue;
      }
      const choice = chunk.choices?.[0];
      if (!choice) continue;
      if (final) problems.push("the stream goes on after its finish reason");
      if (typeof choice.delta?.content === "string") content += choice.delta.content;
      if (choice.finish_reason) final = chunk;
      else if (!final) onChunk(chunk);
    }
    if (!receipt || !final || !usage) {
      throw new ZgError(
        `${url} ended the stream without ${receipt ? "a finish reason" : "a receipt"}`,
        "NETWORK",
      );
    }
    const result = await this.accept(
      receipt,
      hash,
      true,
      content,
      final.choices[0].finish_reason ?? undefined,
      problems,
    );
    return { result, final, usage };
  }

  /** Catches up with the provider, then signs the request (its hash and number) and the voucher it carries. */
  private async prepare(
    request: CanonicalRequest,
  ): Promise<{ headers: Record<string, string>; hash: string }> {
    await this.reconcile();
    const voucher = this.book.signature === null ? this.signVoucher(0n) : this.currentVoucher();
    const hash = requestHash(request);
    const seq = BigInt(this.book.seq + 1);
    const digest = this.client.domain.requestDigest({
      user: this.user,
      provider: this.service.provider,
      requestHash: hash,
      seq,
    });
    return {
      hash,
      headers: {
        "content-type": "application/json",
        [USER_HEADER]: this.user,
        [VOUCHER_HEADER]: encodeVoucherHeader(voucher),
        [REQUEST_HEADER]: encodeRequestHeader(seq, this.client.chain.signDigest(digest)),
      },
    };
  }

  /**
   * Verifies a response (the receipt, and that the answer delivered is the receipt's), then acknowledges it with a
   * voucher; a response that fails is stored as rejected and never acknowledged (ResponseRejected).
   */
  private async accept(
    receipt: Receipt,
    hash: string,
    own: boolean,
    content: string | undefined,
    finishReason: string | undefined,
    earlier: string[] = [],
  ): Promise<InferenceResult> {
    const problems = [
      ...earlier,
      ...(await this.problemsOf(receipt, BigInt(this.book.amount), this.book.seq, own)),
    ];
    if (content !== receipt.response.content) problems.push("the answer differs from the receipt's response");
    if (finishReason !== receipt.response.finishReason) {
      problems.push(
        `the finish reason ${finishReason} is not the receipt's ${receipt.response.finishReason}`,
      );
    }
    if (receipt.requestHash !== hash) problems.push("the receipt is for another request");
    if (problems.length > 0) {
      this.writeReceipt(receipt, ".rejected");
      throw new ResponseRejected(
        `the response of ${this.service.provider} failed verification (${problems.join("; ")}): it is not acknowledged and will not be paid`,
      );
    }
    await this.acknowledge([receipt]);
    return {
      content: receipt.response.content,
      fee: BigInt(receipt.fee),
      receipt,
      receiptFile: this.writeReceipt(receipt),
      provider: this.service.provider,
    };
  }

  /**
   * Catches up with the provider before a request: adopts a newer voucher this key signed elsewhere, and
   * acknowledges responses the provider stored that never reached this client, each verified and its request
   * signed by this key (sent from here before an interruption, or from another program with the same key). A
   * provider whose record contradicts this client's is not followed: `resync` takes its record on request.
   */
  async reconcile(): Promise<void> {
    const view = await this.readAccount();
    if (view.seq < this.book.seq) {
      // The provider has no record of responses this client acknowledged: a new chain (a restarted devnet) or a
      // provider that lost its state. Only what the provider can still show is owed: start again from its view.
      this.save({ amount: "0", nonce: "0", signature: null, seq: 0, signed: this.highestNonce().toString() });
    }
    if (view.voucher && BigInt(view.voucher.nonce) > BigInt(this.book.nonce)) {
      this.adopt(view);
    }
    const covered = coveredBy(view);
    const voucher = view.voucher;
    const sameVoucher =
      !voucher ||
      this.book.signature === null ||
      voucher.nonce !== this.book.nonce ||
      (voucher.amount === this.book.amount && voucher.signature === this.book.signature);
    if (covered !== this.book.seq || !sameVoucher) {
      throw new ZgError(
        `${this.service.url} records your account with ${this.service.provider} as ${covered} responses acknowledged by voucher nonce ${voucher?.nonce ?? 0}, which does not match this client's (${this.book.seq} responses, nonce ${this.book.nonce}): if this key was used from another machine, or this client's state was lost or restored, run 'zg ledger resync ${this.service.provider}' (InferenceSession.resync()) to take the provider's record, every signature in it checked`,
        "ZG_ERROR",
      );
    }
    await this.acceptPending(view.pending);
  }

  /**
   * Takes the provider's record of this account instead of this client's: its voucher (signed by this key) and the
   * responses it stored after it, each verified, its request signed by this key, and acknowledged. The recovery
   * for lost, restored or diverged client state; the next voucher's nonce is above every one signed so far, here,
   * at the provider or settled on-chain.
   */
  async resync(): Promise<{ seq: number; acknowledged: number }> {
    const view = await this.readAccount();
    const onChain = await this.client.voucherState(this.user, this.service.provider);
    let highest = this.highestNonce();
    if (onChain.nonce > highest) highest = onChain.nonce;
    this.save({ amount: "0", nonce: "0", signature: null, seq: 0, signed: highest.toString() });
    if (view.voucher) this.adopt(view);
    this.save({ ...this.book, seq: coveredBy(view) });
    await this.acceptPending(view.pending);
    return { seq: view.seq, acknowledged: view.pending.length };
  }

  /** Takes the provider's voucher as the one covering its record (it must be signed by this key). */
  private adopt(view: AccountView): void {
    const voucher = view.voucher as NonNullable<AccountView["voucher"]>;
    const remote: SignedVoucher = {
      user: this.user,
      amount: BigInt(voucher.amount),
      nonce: BigInt(voucher.nonce),
      signature: voucher.signature,
    };
    if (!this.client.domain.isVoucherSignedBy(remote, this.service.provider)) {
      throw new ZgError(`${this.service.url} holds a voucher this key did not sign`, "ZG_ERROR");
    }
    const highest = this.highestNonce();
    this.save({
      amount: voucher.amount,
      nonce: voucher.nonce,
      signature: voucher.signature,
      seq: coveredBy(view),
      signed: (remote.nonce > highest ? remote.nonce : highest).toString(),
    });
  }

  /** Verifies and acknowledges the responses the provider stored after this client's voucher. */
  private async acceptPending(pending: Receipt[]): Promise<void> {
    if (pending.length === 0) return;
    let cumulative = BigInt(this.book.amount);
    let seq = this.book.seq;
    for (const receipt of pending) {
      const problems = await this.problemsOf(receipt, cumulative, seq);
      if (problems.length > 0) {
        this.writeReceipt(receipt, ".rejected");
        throw new ZgError(
          `${this.service.url} reports response ${receipt.seq} that fails verification (${problems.join("; ")}): it is not acknowledged and will not be paid, and the provider answers you no more while it asks for it; take your coin back with 'zg ledger refund ${this.service.provider} <amount>'`,
          "ZG_ERROR",
        );
      }
      cumulative = BigInt(receipt.cumulative);
      seq = receipt.seq;
      this.writeReceipt(receipt);
    }
    await this.acknowledge(pending);
  }

  /** The account as the provider records it, read with this key's signature (it shows prompts and answers). */
  private readAccount(): Promise<AccountView> {
    const expires = BigInt(Math.floor(Date.now() / 1000) + READ_SECONDS);
    const digest = this.client.domain.readDigest({
      user: this.user,
      provider: this.service.provider,
      expires,
    });
    return this.call(`/v1/account/${this.user}`, {
      method: "GET",
      headers: { [READ_HEADER]: encodeReadHeader(expires, this.client.chain.signDigest(digest)) },
    }) as Promise<AccountView>;
  }

  private highestNonce(): bigint {
    const nonce = BigInt(this.book.nonce);
    const signed = BigInt(this.book.signed ?? "0");
    return nonce > signed ? nonce : signed;
  }

  /** Everything wrong with a receipt that should follow `previousSeq` at `previousCumulative`. */
  private async problemsOf(
    receipt: Receipt,
    previousCumulative: bigint,
    previousSeq: number,
    ownModel = receipt.request.model === this.service.model,
  ): Promise<string[]> {
    const problems = receiptProblems(receipt);
    const service = this.service;
    const expect = (ok: boolean, problem: string) => {
      if (!ok) problems.push(problem);
    };
    expect(
      receipt.signer === service.signer,
      `signed by ${receipt.signer}, not the registered signer ${service.signer}`,
    );
    expect(
      receipt.provider === service.provider && receipt.user === this.user,
      "addressed to another provider or user",
    );
    expect(
      receipt.chainId === this.client.chain.chainId &&
        receipt.serving === this.client.domain.verifyingContract,
      "for another deployment",
    );
    expect(
      !ownModel || receipt.modelHash === service.modelHash,
      `model ${receipt.modelHash} is not the registered ${service.modelHash}`,
    );
    expect(
      BigInt(receipt.inputPrice) === service.inputPrice &&
        BigInt(receipt.outputPrice) === service.outputPrice,
      `prices ${receipt.inputPrice}/${receipt.outputPrice} are not the registered ${service.inputPrice}/${service.outputPrice}`,
    );
    expect(receipt.seq === previousSeq + 1, `response number ${receipt.seq} does not follow ${previousSeq}`);
    expect(
      BigInt(receipt.cumulative) === previousCumulative + BigInt(receipt.fee),
      `cumulative ${receipt.cumulative} is not ${previousCumulative} + ${receipt.fee}`,
    );
    if (ownModel && service.deterministic && problems.length === 0) {
      const replay = await reexecute(receipt);
      if (replay.status === "mismatch") problems.push(replay.detail);
    }
    return problems;
  }

  private async acknowledge(receipts: Receipt[]): Promise<void> {
    const last = receipts[receipts.length - 1];
    const voucher = this.signVoucher(BigInt(last.cumulative));
    await this.call("/v1/vouchers", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        user: this.user,
        amount: voucher.amount.toString(),
        nonce: voucher.nonce.toString(),
        signature: voucher.signature,
      }),
    });
    this.save({
      amount: voucher.amount.toString(),
      nonce: voucher.nonce.toString(),
      signature: voucher.signature,
      seq: last.seq,
      signed: voucher.nonce.toString(),
    });
  }

  private currentVoucher(): SignedVoucher {
    return {
      user: this.user,
      amount: BigInt(this.book.amount),
      nonce: BigInt(this.book.nonce),
      signature: this.book.signature as string,
    };
  }

  /** Signs the next voucher (above every nonce signed) for a cumulative amount; remembered once accepted. */
  private signVoucher(amount: bigint): SignedVoucher {
    const nonce = this.highestNonce() + 1n;
    const digest = this.client.domain.voucherDigest({
      user: this.user,
      provider: this.service.provider,
      amount,
      nonce,
    });
    const signature = this.client.chain.signDigest(digest);
    if (this.book.signature === null) {
      this.save({
        ...this.book,
        amount: amount.toString(),
        nonce: nonce.toString(),
        signature,
        signed: nonce.toString(),
      });
    }
    return { user: this.user, amount, nonce, signature };
  }

  private call(route: string, init: RequestInit): Promise<unknown> {
    return requestJson(`${this.service.url.replace(/\/+$/, "")}${route}`, init, {
      label: `provider ${this.service.provider}`,
      timeoutMs: 120_000,
    });
  }

  private save(state: BookState): void {
    this.book = state;
    mkdirSync(path.dirname(this.bookFile), { recursive: true });
    const temporary = `${this.bookFile}.tmp`;
    writeFileSync(temporary, JSON.stringify(state));
    renameSync(temporary, this.bookFile);
  }

  private writeReceipt(receipt: Receipt, suffix = ""): string {
    mkdirSync(this.receiptsDir, { recursive: true });
    const file = path.join(this.receiptsDir, `${receipt.seq.toString().padStart(6, "0")}${suffix}.json`);
    writeFileSync(file, `${JSON.stringify(receipt, null, 2)}\n`);
    return file;
  }
}

/** A response that failed verification: it was not acknowledged, and the provider cannot be paid for it. */
export class ResponseRejected extends ZgError {
  constructor(message: string) {
    super(message, "ZG_ERROR");
    this.name = "ResponseRejected";
  }
}

/** One `chat.completion.chunk` of a streamed answer, as far as the client reads it. */
export interface StreamChunk {
  choices: { index?: number; delta?: { role?: string; content?: string }; finish_reason?: string | null }[];
  [field: string]: unknown;
}

/** The most bytes a streamed answer may take (a provider cannot make a client buffer without bound). */
const MAX_STREAM_BYTES = 16 << 20;

/** The `data` of each Server-Sent Event of a response (`data:` lines of one event joined by newlines). */
async function* sseData(response: Response, label: string): AsyncGenerator<string> {
  if (!response.body) return;
  const decoder = new TextDecoder();
  let buffer = "";
  let total = 0;
  const events = function* (final: boolean) {
    const parts = buffer.split(/\r?\n\r?\n/);
    buffer = final ? "" : (parts.pop() ?? "");
    for (const part of parts) {
      const data = part
        .split(/\r?\n/)
        .filter((line) => line.startsWith("data:"))
        .map((line) => line.slice(5).replace(/^ /, ""));
      if (data.length > 0) yield data.join("\n");
    }
  };
  try {
    for await (const bytes of response.body as unknown as AsyncIterable<Uint8Array>) {
      total += bytes.length;
      if (total > MAX_STREAM_BYTES)
        throw new ZgError(`${label} streamed more than ${MAX_STREAM_BYTES} bytes`, "NETWORK");
      buffer += decoder.decode(bytes, { stream: true });
      yield* events(false);
    }
  } catch (error) {
    if (error instanceof ZgError) throw error;
    throw new ZgError(`${label} broke off the stream: ${(error as Error).message}`, "NETWORK");
  }
  buffer += decoder.decode();
  yield* events(true);
}

/** The responses the provider's voucher covers: those before the first pending one. */
function coveredBy(view: AccountView): number {
  return view.pending.length > 0 ? view.pending[0].seq - 1 : view.seq;
}
