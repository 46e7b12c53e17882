import type { IncomingMessage, ServerResponse } from "node:http";
import { getAddress, isAddress } from "ethers";
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import { z } from "zod";
import { BoundedCache } from "../core/cache";
import type { ZgChain } from "../core/chain";
import { firstLine, ZgError } from "../core/errors";
import { header, HttpError, readJson, replyJson } from "../core/http";
import type { Logger } from "../core/log";
import { recoverSigner } from "../core/signatures";
import { CoinCounter } from "../core/metrics";
import type { DurableStore } from "../core/store";
import type { RunningWorker, WorkerConfig, WorkerService } from "../core/worker";
import {
  chatCompletionBody,
  chatCompletionChunk,
  chatRequest,
  engineConfigShape,
  streamPieces,
  engineFromConfig,
  type Engine,
} from "../engine/engines";
import { PAID_CHAT, type ChatTarget, type PaidChat } from "../engine/paid-chat";
import { ServingClient, type ServiceInfo } from "./client";
import { StakingClient } from "../staking/client";
import {
  feeOf,
  MAX_READ_SECONDS,
  parseReadHeader,
  parseRequestHeader,
  parseVoucherHeaders,
  READ_HEADER,
  REQUEST_HEADER,
  requestHash,
  responseHash,
  ServingDomain,
  statementOf,
  USER_HEADER,
  VOUCHER_HEADER,
  type Receipt,
  type SignedVoucher,
} from "./protocol";
import { serving as manifest } from "./module";
import { Settler, type SettlementConfig } from "./settlement";

/** The config fields of the inference service (on top of the worker's). */
const inferenceConfig = {
  ...engineConfigShape,
  /** Registers (or updates) the provider's on-chain service at start-up with these terms. */
  service: z
    .object({
      publicUrl: z.string().url(),
      inputPrice: z.string().regex(/^\d{1,30}$/, "must be a whole number of wei"),
      outputPrice: z.string().regex(/^\d{1,30}$/, "must be a whole number of wei"),
      region: z.string().max(32).default(""),
    })
    .strict()
    .optional(),
  /** Settle a user's unsettled voucher once it is this old (milliseconds). */
  settleIntervalMs: z.number().int().min(100).max(86_400_000).default(60_000),
  /** How often the settler looks for due vouchers (milliseconds). */
  settleCheckMs: z.number().int().min(50).max(3_600_000).default(5_000),
  /** Settle at once when one of a user's refunds unlocks within this many seconds. */
  refundMarginSeconds: z.number().int().min(0).max(604_800).default(3_600),
  /** The most vouchers in one settlement transaction. */
  maxBatch: z.number().int().min(1).max(200).default(100),
  /** How long a user's sub-account balance read from the chain is reused (milliseconds). */
  balanceCacheMs: z.number().int().min(0).max(60_000).default(1_000),
  /** The most users whose balance is kept in memory (the least recently asked leave first). */
  balanceCacheEntries: z.number().int().min(1).max(1_000_000).default(10_000),
};
export type OracleConfig = WorkerConfig & z.output<z.ZodObject<typeof inferenceConfig>>;

/** What the oracle keeps per user. */
export interface UserAccount {
  /** Responses served so far. */
  seq: number;
  /** Σ fee of every response served (what a voucher must reach to cover them all). */
  owed: bigint;
  /** The latest voucher the user signed (amount ≤ owed). */
  voucher?: { amount: bigint; nonce: bigint; signature: string };
  /** What the chain has settled for this user (mirrored after each settlement). */
  settled: bigint;
  settledNonce: bigint;
  /** When the voucher first exceeded `settled` (unix ms), or undefined when nothing is unsettled. */
  unsettledSince?: number;
}

const userKey = (user: string) => `serving/user/${user.toLowerCase()}`;
const receiptKey = (user: string, seq: number) =>
  `serving/receipt/${user.toLowerCase()}/${seq.toString().padStart(12, "0")}`;
const MAX_PENDING_LISTED = 100;
/** Receipts in the order they were made, for audits: `serving/audit/<unix ms>/<user>/<seq>` → receipt key. */
const auditKey = (createdAt: number, user: string, seq: number) =>
  `serving/audit/${createdAt.toString().padStart(15, "0")}/${user.toLowerCase()}/${seq.toString().padStart(12, "0")}`;
const AUDIT_PREFIX = "serving/audit/";
/** The most receipts one audit page holds. */
export const MAX_AUDIT_PAGE = 50;

/**
 * The inference oracle: an OpenAI-compatible API in front of an engine. Every request names its user, carries
 * the user's signature of that request (its hash and its number) and the voucher covering what the user owes so
 * far; the oracle checks them and the user's sub-account before any work, runs the engine, signs a statement over
 * the hashes of request and response with the token counts and fee, stores the receipt durably before answering,
 * and settles vouchers on-chain in batches. Nothing is stored for a user it has not served.
 */
export class InferenceOracle implements PaidChat {
  private readonly locks = new Map<string, Promise<unknown>>();
  private readonly balances: BoundedCache<string, bigint>;
  private readonly requests: Counter;
  private readonly fees: CoinCounter;
  private readonly overhead: Histogram;
  /** The oracle's own model, for every user. */
  private readonly own: ChatTarget;

  constructor(
    private readonly chain: ZgChain,
    private readonly client: ServingClient,
    private readonly domain: ServingDomain,
    private readonly engine: Engine,
    private service: ServiceInfo,
    private readonly store: DurableStore,
    private readonly settler: Settler | undefined,
    config: Pick<OracleConfig, "balanceCacheMs" | "balanceCacheEntries">,
    private readonly log: Logger,
    metrics: Registry,
    /** Whether an address is an active ALIGNMENT operator (audits are for them only). */
    private readonly isAuditor: (address: string) => Promise<boolean>,
  ) {
    this.requests = new Counter({
      name: "zg_oracle_requests_total",
      help: "Chat requests by outcome",
      labelNames: ["outcome"],
      registers: [metrics],
    });
    this.fees = new CoinCounter(metrics, "zg_oracle_fees_wei_total", "Fees stated in signed responses (wei)");
    this.overhead = new Histogram({
      name: "zg_oracle_overhead_seconds",
      help: "Time per request outside the engine",
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.05],
      registers: [metrics],
    });
    this.own = {
      model: engine.model,
      authorize: () => Promise.resolve(),
      inputTokenBound: (request) => engine.inputTokenBound(request),
      engine: () => Promise.resolve(engine),
    };
    const balances = (this.balances = new BoundedCache<string, bigint>({
      maxEntries: config.balanceCacheEntries,
      ttlMs: config.balanceCacheMs,
    }));
    new Gauge({
      name: "zg_oracle_balance_cache_entries",
      help: "Users whose sub-account balance is kept in memory",
      registers: [metrics],
      collect() {
        this.set(balances.size);
      },
    });
  }

  get provider(): string {
    return this.service.provider;
  }

  get endpoint(): { url: string; region: string } {
    return { url: this.service.url, region: this.service.region };
  }

  /** Replaces the service terms (the settler refreshes them from the chain). */
  setService(service: ServiceInfo): void {
    this.service = service;
  }

  /** Routes the oracle's HTTP API; false for routes it does not serve. */
  route(request: IncomingMessage, response: ServerResponse, route: string): boolean {
    const method = request.method ?? "GET";
    const reply = (work: () => Promise<unknown>) =>
      replyJson(response, work, {
        log: this.log,
        failed: (status) => {
          if (status >= 400 && status < 500) this.requests.inc({ outcome: `http_${status}` });
        },
      });
    if (method === "GET" && route === "/v1/models") return reply(async () => this.models());
    if (method === "POST" && route === "/v1/chat/completions") {
      return reply(() => this.chat(request, response, this.own));
    }
    if (method === "POST" && route === "/v1/vouchers") return reply(() => this.acknowledge(request));
    const account = /^\/v1\/account\/([^/]+)$/.exec(route);
    if (method === "GET" && account) return reply(() => this.account(request, account[1]));
    const receipt = /^\/v1\/receipts\/([^/]+)\/(\d{1,12})$/.exec(route);
    if (method === "GET" && receipt) {
      return reply(() => this.receipt(request, receipt[1], Number(receipt[2])));
    }
    const audit = /^\/v1\/audit\/([^/]+)\/receipts$/.exec(route);
    if (method === "GET" && audit) return reply(() => this.audit(request, audit[1]));
    return false;
  }

  private models() {
    return {
      object: "list",
      data: [
        {
          id: this.engine.model,
          object: "model",
          owned_by: this.provider,
          model_hash: this.engine.modelHash,
          deterministic: this.engine.deterministic,
          input_price: this.service.inputPrice.toString(),
          output_price: this.service.outputPrice.toString(),
        },
      ],
    };
  }

  /**
   * Serves one chat request with the target's engine (the oracle's own, or an agent's for the sealed executor).
   * In order, before any work: the user's signature of this request, its number (the account's next), the voucher,
   * the target's authorization of the user and the user's funds; only then is the engine loaded and run.
   */
  async chat(request: IncomingMessage, response: ServerResponse, target: ChatTarget) {
    const started = process.hrtime.bigint();
    const voucher = parseVoucherHeaders(header(request, USER_HEADER), header(request, VOUCHER_HEADER));
    const signed = parseRequestHeader(header(request, REQUEST_HEADER));
    const { request: canonical, stream } = chatRequest(await readJson(request), target.model);
    const hash = requestHash(canonical);
    const statement = { user: voucher.user, provider: this.provider, requestHash: hash, seq: signed.seq };
    if (!this.domain.isRequestSignedBy(statement, signed.signature)) {
      throw new HttpError(
        401,
        `the request is not signed by ${voucher.user} for provider ${this.provider} (${REQUEST_HEADER}: its number ${signed.seq} and this body)`,
      );
    }
    return this.withUser(voucher.user, async () => {
      const account = await this.accountOf(voucher.user);
      if (signed.seq !== BigInt(account.seq + 1)) {
        throw new HttpError(
          409,
          `request number ${signed.seq} is not the next one (${account.seq + 1}): a signed request is answered once`,
        );
      }
      this.checkVoucher(account, voucher, "request");
      await target.authorize(voucher.user);
      const { inputPrice, outputPrice } = this.service;
      const maxFee = feeOf(target.inputTokenBound(canonical), canonical.max_tokens, inputPrice, outputPrice);
      if (maxFee > 0n) await this.checkFunds(voucher.user, account, maxFee);
      // Preparing the engine (an agent's model) counts as engine time, not as the oracle's overhead.
      const prepared = process.hrtime.bigint();
      const engine = await target.engine();
      const preparation = process.hrtime.bigint() - prepared;

      const engineStarted = process.hrtime.bigint();
      let completion;
      try {
        completion = await engine.complete(canonical);
      } catch (error) {
        this.requests.inc({ outcome: "engine_error" });
        throw new HttpError(502, `the engine failed: ${firstLine(error)}`, "server_error");
      }
      const engineTime = process.hrtime.bigint() - engineStarted + preparation;

      const fee = feeOf(completion.inputTokens, completion.outputTokens, inputPrice, outputPrice);
      const seq = account.seq + 1;
      const cumulative = account.owed + fee;
      const receipt = this.sign({
        version: 1,
        chainId: this.domain.chainId,
        serving: this.domain.verifyingContract,
        provider: this.provider,
        signer: this.chain.address as string,
        user: voucher.user,
        modelHash: engine.modelHash,
        deterministic: engine.deterministic,
        request: canonical,
        response: { content: completion.content, finishReason: completion.finishReason },
        inputTokens: completion.inputTokens,
        outputTokens: completion.outputTokens,
        inputPrice: inputPrice.toString(),
        outputPrice: outputPrice.toString(),
        fee: fee.toString(),
        seq,
        cumulative: cumulative.toString(),
        requestHash: hash,
        responseHash: responseHash(completion.content),
        signature: "",
        requestSignature: signed.signature,
        createdAt: Date.now(),
      });
      const next: UserAccount = { ...account, seq, owed: cumulative };
      // The receipt and the new balance are on disk before the answer leaves: a crash loses no receipt.
      await this.store.batch([
        { type: "put", key: receiptKey(voucher.user, seq), value: receipt },
        {
          type: "put",
          key: auditKey(receipt.createdAt, voucher.user, seq),
          value: receiptKey(voucher.user, seq),
        },
        { type: "put", key: userKey(voucher.user), value: next },
      ]);
      this.requests.inc({ outcome: "ok" });
      this.fees.add(fee);
      const overhead = Number(process.hrtime.bigint() - started - engineTime);
      this.overhead.observe(overhead / 1e9);
      // Standard Server-Timing, so that clients and benchmarks see the oracle's own cost apart from the engine's.
      response.setHeader(
        "server-timing",
        `engine;dur=${(Number(engineTime) / 1e6).toFixed(3)}, overhead;dur=${(overhead / 1e6).toFixed(3)}`,
      );
      const id = `chatcmpl-${receipt.requestHash.slice(2, 18)}-${seq}`;
      if (stream) {
        // The receipt is on disk already: the stream is written whole (the engine answered first), and the
        // JSON reply that follows the work is skipped (its headers are sent).
        writeStream(response, id, engine.model, receipt, completion);
        return undefined;
      }
      return { ...chatCompletionBody(id, receipt.createdAt, engine.model, completion), zg_receipt: receipt };
    });
  }

  /**
   * `POST /v1/vouchers`: a user acknowledges responses by signing a voucher for their cumulative fee. A user never
   * served has nothing to acknowledge: their voucher is checked and nothing is stored. The answer names the voucher
   * on record and nothing else (a voucher is no read authorization: settled ones are public on-chain).
   */
  private async acknowledge(request: IncomingMessage) {
    const body = (await readJson(request)) as Record<string, unknown>;
    const voucher = parseVoucherHeaders(
      typeof body.user === "string" ? body.user : undefined,
      `${String(body.amount)}:${String(body.nonce)}:${String(body.signature)}`,
    );
    return this.withUser(voucher.user, async () => {
      const account = await this.accountOf(voucher.user);
      this.checkVoucher(account, voucher, "acknowledgement");
      const known = account.voucher;
      if (
        account.seq === 0 ||
        (known?.nonce === voucher.nonce &&
          known.amount === voucher.amount &&
          known.signature === voucher.signature)
      ) {
        return this.voucherOnRecord(voucher.user, account);
      }
      const next: UserAccount = {
        ...account,
        voucher: { amount: voucher.amount, nonce: voucher.nonce, signature: voucher.signature },
        unsettledSince:
          voucher.amount > account.settled ? (account.unsettledSince ?? Date.now()) : account.unsettledSince,
      };
      await this.store.put(userKey(voucher.user), next);
      this.settler?.noteUnsettled(voucher.user, next);
      return this.voucherOnRecord(voucher.user, next);
    });
  }

  private voucherOnRecord(user: string, account: UserAccount) {
    const voucher = account.voucher;
    return {
      user,
      provider: this.provider,
      voucher: voucher ? { amount: voucher.amount.toString(), nonce: voucher.nonce.toString() } : null,
    };
  }

  /**
   * A request's voucher must cover every response served so far (amount = owed): either the voucher already
   * on record, or a newer one the user signed. An acknowledgement may cover less than owed, never more.
   */
  private checkVoucher(account: UserAccount, voucher: SignedVoucher, purpose: "request" | "acknowledgement") {
    const known = account.voucher;
    const isKnown =
      known !== undefined &&
      known.nonce === voucher.nonce &&
      known.amount === voucher.amount &&
      known.signature === voucher.signature;
    if (!isKnown) {
      if (known !== undefined && voucher.nonce <= known.nonce) {
        throw new HttpError(409, `voucher nonce ${voucher.nonce} is not above the last one (${known.nonce})`);
      }
      if (!this.domain.isVoucherSignedBy(voucher, this.provider)) {
        throw new HttpError(
          401,
          `the voucher is not signed by ${voucher.user} for provider ${this.provider}`,
        );
      }
      if (known !== undefined && voucher.amount < known.amount) {
        throw new HttpError(409, `voucher amount ${voucher.amount} is below the last one (${known.amount})`);
      }
    }
    if (voucher.amount > account.owed) {
      throw new HttpError(409, `voucher amount ${voucher.amount} exceeds what is owed (${account.owed})`);
    }
    if (purpose === "request" && voucher.amount < account.owed) {
      throw new HttpError(
        402,
        `responses up to ${account.seq} are not acknowledged: sign a voucher for ${account.owed} (see GET /v1/account/${voucher.user})`,
        "payment_required",
      );
    }
  }

  /** The user's unreserved sub-account balance must cover what is not settled yet plus this request's worst case. */
  private async checkFunds(user: string, account: UserAccount, maxFee: bigint) {
    let unreserved = this.balances.get(user);
    if (unreserved === undefined) {
      unreserved = await this.client.unreservedBalance(user, this.provider);
      this.balances.set(user, unreserved);
    }
    const needed = account.owed - account.settled + maxFee;
    if (unreserved < needed) {
      this.requests.inc({ outcome: "unfunded" });
      throw new HttpError(
        402,
        `the sub-account of ${user} with ${this.provider} holds ${unreserved} wei unreserved; this request needs ${needed} (unsettled ${account.owed - account.settled} + at most ${maxFee})`,
        "payment_required",
      );
    }
  }

  private sign(receipt: Receipt): Receipt {
    return { ...receipt, signature: this.chain.signDigest(this.domain.responseDigest(statementOf(receipt))) };
  }

  /** `GET /v1/account/<user>`, for the user only (it holds their prompts and answers). */
  private async account(request: IncomingMessage, rawUser: string) {
    const user = this.reader(request, rawUser);
    return this.accountView(user, await this.accountOf(user));
  }

  /**
   * The user a read is for, who must have signed it: `READ_HEADER` carries their signature of
   * `Read(user, provider, expires)`, expiring at most MAX_READ_SECONDS ahead.
   */
  private reader(request: IncomingMessage, rawUser: string): string {
    if (!isAddress(rawUser)) throw new HttpError(400, `'${rawUser}' is not an address`);
    const user = getAddress(rawUser);
    const read = parseReadHeader(header(request, READ_HEADER));
    const now = BigInt(Math.floor(Date.now() / 1000));
    if (read.expires < now || read.expires > now + BigInt(MAX_READ_SECONDS)) {
      throw new HttpError(401, `the read authorization expired or lies too far ahead (${read.expires})`);
    }
    const digest = this.domain.readDigest({ user, provider: this.provider, expires: read.expires });
    if (recoverSigner(digest, read.signature) !== user) {
      throw new HttpError(
        401,
        `the read authorization is not signed by ${user} for provider ${this.provider}`,
      );
    }
    return user;
  }

  /** An account as users see it: the voucher on record and every receipt it does not cover yet. */
  private async accountView(user: string, account: UserAccount) {
    const covered = account.voucher?.amount ?? 0n;
    const pending: Receipt[] = [];
    for (let seq = account.seq; seq >= 1 && pending.length < MAX_PENDING_LISTED; seq--) {
      const receipt = await this.store.get<Receipt>(receiptKey(user, seq));
      if (!receipt || BigInt(receipt.cumulative) <= covered) break;
      pending.unshift(receipt);
    }
    return {
      user,
      provider: this.provider,
      seq: account.seq,
      owed: account.owed.toString(),
      settled: account.settled.toString(),
      voucher: account.voucher
        ? {
            amount: account.voucher.amount.toString(),
            nonce: account.voucher.nonce.toString(),
            signature: account.voucher.signature,
          }
        : null,
      pending,
    };
  }

  /**
   * `GET /v1/audit/<auditor>/receipts?after=<cursor>&limit=<n>`: the receipts this provider made, oldest first,
   * for active ALIGNMENT operators only (the auditor signs the same `Read` authorization a user signs for its own
   * account, naming itself). Providers serve under audit: alignment nodes re-execute and check what they answer.
   * Costs one signature recovery, one NodeStaking read (kept a minute) and at most MAX_AUDIT_PAGE store reads.
   */
  private async audit(request: IncomingMessage, rawAuditor: string) {
    const auditor = this.reader(request, rawAuditor);
    if (!(await this.isAuditor(auditor)))
      throw new HttpError(
        403,
        `${auditor} is not an active ALIGNMENT operator: audits are for alignment nodes`,
      );
    const query = new URL(request.url ?? "/", "http://oracle").searchParams;
    const after = query.get("after") ?? "";
    if (after !== "" && !/^\d{15}\/0x[0-9a-f]{40}\/\d{12}$/.test(after))
      throw new HttpError(400, "after must be a cursor this endpoint returned");
    const limitText = query.get("limit") ?? String(MAX_AUDIT_PAGE);
    if (!/^\d{1,3}$/.test(limitText) || Number(limitText) < 1 || Number(limitText) > MAX_AUDIT_PAGE)
      throw new HttpError(400, `limit must be 1 to ${MAX_AUDIT_PAGE}`);
    const receipts: Receipt[] = [];
    let next: string | null = null;
    for await (const [key, target] of this.store.entries<string>(AUDIT_PREFIX)) {
      const cursor = key.slice(AUDIT_PREFIX.length);
      if (cursor <= after) continue;
      const found = await this.store.get<Receipt>(target);
      if (found) receipts.push(found);
      next = cursor;
      if (receipts.length >= Number(limitText)) break;
    }
    return { receipts, next };
  }

  /** `GET /v1/receipts/<user>/<n>`, for the user only. */
  private async receipt(request: IncomingMessage, rawUser: string, seq: number) {
    const receipt = await this.store.get<Receipt>(receiptKey(this.reader(request, rawUser), seq));
    if (!receipt) throw new HttpError(404, `no receipt ${seq} for ${rawUser}`);
    return receipt;
  }

  async accountOf(user: string): Promise<UserAccount> {
    return (
      (await this.store.get<UserAccount>(userKey(user))) ?? {
        seq: 0,
        owed: 0n,
        settled: 0n,
        settledNonce: 0n,
      }
    );
  }

  /** Runs `work` after every earlier piece of work for the same user: one user's balance moves in order. */
  withUser<T>(user: string, work: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(user) ?? Promise.resolve();
    const next = previous.then(work, work);
    const settled = next.catch(() => undefined);
    this.locks.set(user, settled);
    void settled.then(() => {
      if (this.locks.get(user) === settled) this.locks.delete(user);
    });
    return next;
  }

  /** Forgets the cached balance of a user (after a settlement moved it). */
  forgetBalance(user: string): void {
    this.balances.delete(user);
  }
}

/**
 * A streamed answer as Server-Sent Events in OpenAI's chunk format: a first chunk with the role, the content in
 * pieces (word by word), a chunk with the finish reason, then a chunk with no choices carrying the usage and the
 * signed receipt (`zg_receipt`), and `data: [DONE]`.
 */
function writeStream(
  response: ServerResponse,
  id: string,
  model: string,
  receipt: Receipt,
  completion: { content: string; finishReason: "stop" | "length"; inputTokens: number; outputTokens: number },
): void {
  const event = (data: unknown) => `data: ${JSON.stringify(data)}\n\n`;
  const chunk = (delta: { role?: "assistant"; content?: string }, finish: "stop" | "length" | null = null) =>
    event(chatCompletionChunk(id, receipt.createdAt, model, delta, finish));
  response.writeHead(200, {
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-cache",
    "x-accel-buffering": "no",
  });
  response.write(chunk({ role: "assistant", content: "" }));
  for (const piece of streamPieces(completion.content)) response.write(chunk({ content: piece }));
  response.write(chunk({}, completion.finishReason));
  response.write(
    event({
      id,
      object: "chat.completion.chunk",
      created: Math.floor(receipt.createdAt / 1000),
      model,
      choices: [],
      usage: {
        prompt_tokens: completion.inputTokens,
        completion_tokens: completion.outputTokens,
        total_tokens: completion.inputTokens + completion.outputTokens,
      },
      zg_receipt: receipt,
    }),
  );
  response.end("data: [DONE]\n\n");
}

/** Whether an address is an active ALIGNMENT operator, each answer kept for a minute (a bounded number of them). */
function auditors(staking: StakingClient): (address: string) => Promise<boolean> {
  const known = new BoundedCache<string, boolean>({ maxEntries: 1024, ttlMs: 60_000 });
  return async (address) => {
    const cached = known.get(address);
    if (cached !== undefined) return cached;
    const active = (await staking.status(address, "ALIGNMENT")).active;
    known.set(address, active);
    return active;
  };
}

/**
 * The inference service of the oracle worker (`zg node oracle`), where InferenceServing is deployed: it checks the
 * provider's on-chain service (registering it from `service` first), serves the OpenAI-compatible API, settles
 * vouchers, and offers paid chat to the services started after it.
 */
export const inferenceService: WorkerService<typeof inferenceConfig> = {
  config: inferenceConfig,
  requireKey: true,
  needs: manifest.contracts.serving.name,
  async start({ config, chain, store, log, metrics }, capabilities): Promise<RunningWorker> {
    const engine = engineFromConfig(config);
    const client = await ServingClient.connect(chain);
    const provider = chain.address as string;
    if (config.service) {
      await client.ensureService({
        model: engine.model,
        modelHash: engine.modelHash,
        url: config.service.publicUrl,
        inputPrice: BigInt(config.service.inputPrice),
        outputPrice: BigInt(config.service.outputPrice),
        region: config.service.region,
        signer: provider,
        deterministic: engine.deterministic,
      });
    }
    const service = await client.service(provider);
    if (service.model !== engine.model || service.modelHash !== engine.modelHash) {
      throw new ZgError(
        `the on-chain service of ${provider} names model ${service.model} (${service.modelHash}), but this oracle serves ${engine.model} (${engine.modelHash}): update the service`,
        "BAD_CONFIG",
      );
    }
    if (service.signer !== provider) {
      throw new ZgError(
        `the on-chain service of ${provider} names response signer ${service.signer}, not this oracle's key`,
        "BAD_CONFIG",
      );
    }
    const domain = client.domain;
    const settlement: SettlementConfig = config;
    const settler = client.hasLedger ? new Settler(client, store, settlement, log, metrics) : undefined;
    const oracle = new InferenceOracle(
      chain,
      client,
      domain,
      engine,
      service,
      store,
      settler,
      config,
      log,
      metrics,
      auditors(await StakingClient.connect(chain)),
    );
    await settler?.start(oracle);
    capabilities.offer(PAID_CHAT, oracle);
    log.info("oracle serving", {
      model: engine.model,
      modelHash: engine.modelHash,
      engine: engine.spec,
      settlement: settler ? "on-chain" : "none (no ServingLedger)",
    });
    return {
      health: () => ({ model: engine.model, modelHash: engine.modelHash, provider }),
      http: (request, response, route) => oracle.route(request, response, route),
      stop: async () => {
        await settler?.stop();
      },
    };
  },
};
