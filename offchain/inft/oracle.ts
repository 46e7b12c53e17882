import { randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { getAddress, hexlify, isAddress, isHexString, ZeroAddress } from "ethers";
import { Counter, type Registry } from "prom-client";
import { z } from "zod";
import { IAgentNFT__factory, type IAgentNFT } from "../../typechain-types";
import { BoundedCache } from "../core/cache";
import type { ZgChain } from "../core/chain";
import { inft as manifest } from "./module";
import { validate } from "../core/config";
import { ZgError } from "../core/errors";
import { header, HttpError, readJson, replyJson } from "../core/http";
import type { Logger } from "../core/log";
import type { DurableStore } from "../core/store";
import type { RunningWorker, WorkerService } from "../core/worker";
import { baseModel, trainModel } from "../engine/builtin";
import { BuiltinEngine, builtinInputTokens, canonicalRequest, chatCompletionBody } from "../engine/engines";
import { PAID_CHAT, type PaidChat } from "../engine/paid-chat";
import { StakingClient } from "../staking/client";
import { StorageClient } from "../storage/client";
import { MAX_AGENT_ENTRIES, parseAccessBundle, publicKeySchema } from "./access";
import { agentChatRoute, agentModelId, AUTH_HEADER, requestSigner } from "./auth";
import { decryptData, encryptData, newDataKey, openKey, publicKeyOf, sealKey } from "./crypto";
import {
  ORACLE_TYPE_TEE,
  pubkeyAddress,
  ProofDomain,
  type OwnershipProof,
  type TransferValidityProof,
} from "./proofs";

const keyKey = (root: string) => `inft/key/${root.toLowerCase()}`;
const MAX_CACHED_AGENTS = 32;

const hash32 = z.string().regex(/^0x[0-9a-fA-F]{64}$/, "must be a 32-byte 0x-hex hash");
const sealSchema = z
  .object({
    owner: z.string().refine(isAddress, "must be an address"),
    ownerPubkey: publicKeySchema,
    /** The proofs' deadline; they spend the owner's nonces (the owner receives the keys). */
    deadline: z.string().regex(/^\d{1,20}$/),
    entries: z
      .array(
        z
          .object({
            oldDataHash: hash32,
            dataHash: hash32,
            sealedKey: z.string().regex(/^0x[0-9a-fA-F]+$/),
            nonce: z.string().regex(/^\d{1,78}$/),
          })
          .strict(),
      )
      .min(1)
      .max(MAX_AGENT_ENTRIES),
  })
  .strict();

/** The config fields of the iNFT oracle service (on top of the worker's). */
const inftConfig = {
  inft: z
    .object({
      /**
       * The endpoint announced in NodeStaking's ORACLE role, where agent owners find this oracle (with `region`).
       * Without it, the endpoint of the worker's paid chat (the provider's on-chain service) is announced.
       */
      publicUrl: z.string().url().optional(),
      region: z.string().max(32).default(""),
      /**
       * The most bytes of one agent's data (its entries' ciphertexts together, as the storage log records them)
       * the oracle fetches to seal, re-encrypt or train: more is refused (413) before any download. Training on
       * 1 MiB of text takes about 130 MB of memory.
       */
      maxAgentBytes: z
        .number()
        .int()
        .min(1024)
        .max(1 << 30)
        .default(2 * 1024 * 1024),
      /** The most memory (estimated, bytes) the trained agents kept for later requests take together. */
      agentCacheBytes: z
        .number()
        .int()
        .min(0)
        .max(2 ** 40)
        .default(256 * 1024 * 1024),
    })
    .strict()
    .default({}),
};
type InftLimits = Pick<z.output<typeof inftConfig.inft>, "maxAgentBytes" | "agentCacheBytes">;

/**
 * The ERC-7857 oracle: it attests that it holds the keys of agents' data (mint and update), re-encrypts an agent
 * for its new owner on transfer or clone (fresh key, new ciphertext in storage, keys sealed to the receiver and to
 * itself), and runs an agent's model for its owner and authorized users without revealing the data (the sealed
 * executor): paid like any inference where the worker offers paid chat, else answered to a signed request. Keys
 * rest in its store sealed to its own key.
 */
class InftOracle {
  private readonly agents: BoundedCache<string, BuiltinEngine>;
  private readonly operations: Counter;

  constructor(
    private readonly chain: ZgChain,
    private readonly store: DurableStore,
    private readonly storage: StorageClient,
    private readonly agentNft: IAgentNFT,
    private readonly domain: ProofDomain,
    private readonly paidChat: PaidChat | undefined,
    private readonly limits: InftLimits,
    private readonly log: Logger,
    metrics: Registry,
  ) {
    this.agents = new BoundedCache({
      maxEntries: MAX_CACHED_AGENTS,
      maxWeight: limits.agentCacheBytes,
      weigh: (engine) => engine.memoryBytes,
    });
    this.operations = new Counter({
      name: "zg_inft_operations_total",
      help: "iNFT oracle operations by kind (download and train: an agent's data fetched from storage, a model trained)",
      labelNames: ["kind"],
      registers: [metrics],
    });
  }

  route(request: IncomingMessage, response: ServerResponse, route: string): boolean {
    const method = request.method ?? "GET";
    const reply = (work: () => Promise<unknown>) => replyJson(response, work, { log: this.log });
    if (method === "GET" && route === "/v1/inft/identity") {
      return reply(async () => ({
        address: this.chain.address,
        publicKey: this.chain.publicKey,
        domain: this.domain.separator,
      }));
    }
    if (method === "POST" && route === "/v1/inft/seal") {
      return reply(async () => {
        const raw = await readJson(request);
        const signer = requestSigner(header(request, AUTH_HEADER), route, JSON.stringify(raw));
        return this.seal(raw, signer);
      });
    }
    if (method === "POST" && route === "/v1/inft/reencrypt") {
      return reply(async () => {
        const raw = await readJson(request);
        const signer = requestSigner(header(request, AUTH_HEADER), route, JSON.stringify(raw));
        return this.reencrypt(raw, signer);
      });
    }
    const chat = /^\/v1\/inft\/(\d{1,78})\/chat\/completions$/.exec(route);
    if (method === "POST" && chat) {
      const tokenId = BigInt(chat[1]);
      return reply(() =>
        this.paidChat
          ? this.paidChat.chat(request, response, {
              model: agentModelId(tokenId),
              authorize: (user) => this.requireUser(tokenId, user),
              inputTokenBound: builtinInputTokens,
              engine: () => this.agentEngine(tokenId),
            })
          : this.signedChat(request, tokenId),
      );
    }
    return false;
  }

  /**
   * The sealed executor where no paid chat runs: the request is signed by the user (AUTH_HEADER over the route and
   * body), who must be the owner or an authorized user; the answer carries no receipt, as nothing is paid.
   */
  private async signedChat(request: IncomingMessage, tokenId: bigint) {
    const raw = await readJson(request);
    const user = requestSigner(header(request, AUTH_HEADER), agentChatRoute(tokenId), JSON.stringify(raw));
    const canonical = canonicalRequest(raw, agentModelId(tokenId));
    await this.requireUser(tokenId, user);
    const engine = await this.agentEngine(tokenId);
    const completion = await engine.complete(canonical);
    return chatCompletionBody(
      `chatcmpl-${randomBytes(8).toString("hex")}`,
      Date.now(),
      engine.model,
      completion,
    );
  }

  /**
   * Mint and update, asked by the owner named in the request (signed, `caller`): each entry's new data hash (its
   * ciphertext is in storage) comes with the data key sealed to this oracle; the oracle checks every key and the
   * data's size in the storage log, then opens each ciphertext with its key (so it really holds the key), keeps
   * the key, and signs an ownership proof sealing the key to the owner.
   */
  private async seal(raw: unknown, caller: string): Promise<{ proofs: OwnershipProof[] }> {
    const body = validate(sealSchema, raw, "request", "BAD_INPUT");
    const owner = getAddress(body.owner);
    if (caller !== owner)
      throw new HttpError(403, `only the owner named in the request (${owner}) may ask, not ${caller}`);
    if (pubkeyAddress(body.ownerPubkey) !== owner) {
      throw new HttpError(400, `ownerPubkey is not the public key of ${body.owner}`);
    }
    const deadline = BigInt(body.deadline);
    const keys = body.entries.map((entry, index) => {
      try {
        return openKey(entry.sealedKey, this.chain.privateKey);
      } catch {
        throw new HttpError(
          400,
          `entry ${index}: the key is not sealed to this oracle (see GET /v1/inft/identity)`,
        );
      }
    });
    await this.checkAgentSize(body.entries.map((entry) => entry.dataHash));
    const proofs: OwnershipProof[] = [];
    for (const [index, entry] of body.entries.entries()) {
      const key = keys[index];
      decryptData(key, await this.ciphertext(entry.dataHash));
      await this.keepKey(entry.dataHash, key);
      proofs.push(
        this.ownershipProof(
          entry.oldDataHash,
          entry.dataHash,
          key,
          body.ownerPubkey,
          BigInt(entry.nonce),
          deadline,
        ),
      );
    }
    this.operations.inc({ kind: "seal" }, body.entries.length);
    return { proofs };
  }

  /**
   * Transfer and clone: the token's owner asks; the receiver's access proofs (one per entry, over the entry's
   * current hash and the receiver's public key), the keys and the data's size are all checked first; then each
   * entry is decrypted, re-encrypted under a fresh key and stored anew, and the new key is sealed to the receiver
   * and to this oracle.
   */
  private async reencrypt(raw: unknown, caller: string): Promise<{ proofs: TransferValidityProof[] }> {
    const body = parseAccessBundle(raw, { source: "request" });
    const tokenId = BigInt(body.tokenId);
    const to = body.to;
    const owner = await this.ownerOf(tokenId);
    if (caller !== owner)
      throw new HttpError(403, `only the owner of token ${tokenId} (${owner}) may ask, not ${caller}`);
    if (pubkeyAddress(body.targetPubkey) !== to)
      throw new HttpError(400, `targetPubkey is not the public key of ${to}`);
    const datas = await this.agentNft.intelligentDatasOf(tokenId);
    if (body.accessProofs.length !== datas.length) {
      throw new HttpError(
        400,
        `token ${tokenId} holds ${datas.length} entries; send one access proof for each`,
      );
    }
    const delegate = await this.agentNft.getDelegateAccess(to);
    const accepted = [];
    for (const [index, data] of datas.entries()) {
      const access = {
        nonce: BigInt(body.accessProofs[index].nonce),
        deadline: BigInt(body.accessProofs[index].deadline),
        signature: body.accessProofs[index].signature,
      };
      const signed = this.domain.accessSigner(data.dataHash, body.targetPubkey, access);
      if (!signed || (signed.signer !== to && (delegate === ZeroAddress || signed.signer !== delegate))) {
        throw new HttpError(401, `entry ${index}: the access proof is not signed by ${to} or its delegate`);
      }
      // Signed by the receiver itself, the signature yields the receiver's public key, which the new key is sealed
      // to (it hashes to the receiver's address, so it is the stated key); a delegate's yields the delegate's, so
      // then the stated key is used.
      const receiverKey = signed.signer === to ? signed.publicKey : body.targetPubkey;
      accepted.push({ data, access, receiverKey, key: await this.keyOf(data.dataHash) });
    }
    await this.checkAgentSize(datas.map((data) => data.dataHash));
    const proofs: TransferValidityProof[] = [];
    for (const { data, access, receiverKey, key } of accepted) {
      const plaintext = decryptData(key, await this.ciphertext(data.dataHash));
      const freshKey = newDataKey();
      const uploaded = await this.storage.upload(encryptData(freshKey, plaintext));
      await this.keepKey(uploaded.root, freshKey);
      proofs.push({
        accessProof: access,
        ownershipProof: this.ownershipProof(
          data.dataHash,
          uploaded.root,
          freshKey,
          receiverKey,
          access.nonce,
          access.deadline,
        ),
      });
    }
    this.operations.inc({ kind: "reencrypt" }, datas.length);
    this.log.info("re-encrypted agent", { tokenId: tokenId.toString(), to, entries: datas.length });
    return { proofs };
  }

  /** The owner or an authorized user may run the agent; anyone else is refused before any work. */
  private async requireUser(tokenId: bigint, user: string): Promise<void> {
    const owner = await this.ownerOf(tokenId);
    if (user !== owner && !(await this.agentNft.isAuthorizedUser(tokenId, user))) {
      throw new HttpError(403, `${user} is neither the owner of token ${tokenId} nor authorized to use it`);
    }
  }

  /**
   * The agent's own model, for a user already authorized (and, where paid, whose funds cover the request): the
   * built-in base trained further on the agent's decrypted texts, kept for later requests within the cache's bounds.
   */
  private async agentEngine(tokenId: bigint): Promise<BuiltinEngine> {
    this.operations.inc({ kind: "infer" });
    const datas = await this.agentNft.intelligentDatasOf(tokenId).catch(() => {
      throw new HttpError(404, `token ${tokenId} does not exist`);
    });
    const cacheKey = `${tokenId}:${datas.map((d) => d.dataHash).join(",")}`;
    const cached = this.agents.get(cacheKey);
    if (cached) return cached;
    await this.checkAgentSize(datas.map((data) => data.dataHash));
    const texts: string[] = [];
    for (const data of datas) {
      const plaintext = decryptData(await this.keyOf(data.dataHash), await this.ciphertext(data.dataHash));
      texts.push(new TextDecoder("utf-8", { fatal: false }).decode(plaintext));
    }
    const engine = new BuiltinEngine(trainModel(texts, baseModel()), agentModelId(tokenId));
    this.operations.inc({ kind: "train" });
    this.agents.set(cacheKey, engine);
    return engine;
  }

  /**
   * Refuses (413) an agent whose data, as the storage log records each entry's size, is over `maxAgentBytes`, and
   * (404) data the log never recorded: before anything is downloaded.
   */
  private async checkAgentSize(roots: string[]): Promise<void> {
    let total = 0n;
    for (const root of roots) {
      if (!(await this.storage.flow.isSubmitted(root)))
        throw new HttpError(
          404,
          `the data ${root} cannot be fetched from storage: the storage log has no such file`,
        );
      total += (await this.storage.flow.submissionOf(root)).byteLength;
    }
    if (total > BigInt(this.limits.maxAgentBytes)) {
      throw new HttpError(
        413,
        `the agent's data is ${total} bytes (from the storage log), over this oracle's limit of ${this.limits.maxAgentBytes}`,
      );
    }
  }

  /** Signs an ownership proof with the receiver's nonce and deadline (the pair's, on-chain). */
  private ownershipProof(
    oldDataHash: string,
    newDataHash: string,
    key: Uint8Array,
    targetPubkey: string,
    nonce: bigint,
    deadline: bigint,
  ): OwnershipProof {
    const unsigned = {
      oracleType: ORACLE_TYPE_TEE,
      oldDataHash,
      newDataHash,
      sealedKey: hexlify(sealKey(key, targetPubkey)),
      targetPubkey,
      nonce,
      deadline,
    };
    return { ...unsigned, signature: this.chain.signDigest(this.domain.ownershipDigest(unsigned)) };
  }

  private async keepKey(root: string, key: Uint8Array): Promise<void> {
    await this.store.putBytes(keyKey(root), sealKey(key, publicKeyOf(this.chain.privateKey)));
  }

  private async keyOf(root: string): Promise<Uint8Array> {
    const sealed = await this.store.getBytes(keyKey(root));
    if (!sealed) throw new HttpError(409, `this oracle does not hold the key of data ${root}`);
    return openKey(sealed, this.chain.privateKey);
  }

  private async ciphertext(root: string): Promise<Uint8Array> {
    if (!isHexString(root, 32)) throw new ZgError(`'${root}' is not a data hash`, "BAD_INPUT");
    try {
      this.operations.inc({ kind: "download" });
      return await this.storage.downloadBytes(root, { maxBytes: this.limits.maxAgentBytes });
    } catch (error) {
      throw new HttpError(
        404,
        `the data ${root} cannot be fetched from storage: ${(error as Error).message}`,
      );
    }
  }

  private async ownerOf(tokenId: bigint): Promise<string> {
    try {
      return getAddress(await this.agentNft.ownerOf(tokenId));
    } catch {
      throw new HttpError(404, `token ${tokenId} does not exist`);
    }
  }
}

/**
 * The iNFT oracle service of the oracle worker (`zg node oracle`), where AgentNFT is deployed. Its sealed executor
 * is paid through the worker's paid chat when the inference service offers it (started first), and answers
 * signed requests unpaid otherwise. It announces its endpoint in NodeStaking's ORACLE role.
 */
export const inftOracleService: WorkerService<typeof inftConfig> = {
  config: inftConfig,
  requireKey: true,
  needs: manifest.contracts.agentNft.name,
  async start({ config, chain, store, log, metrics }, capabilities): Promise<RunningWorker> {
    const paidChat = capabilities.find(PAID_CHAT);
    const endpoint = config.inft.publicUrl
      ? { url: config.inft.publicUrl, region: config.inft.region }
      : paidChat?.endpoint;
    if (!endpoint)
      throw new ZgError(
        "the iNFT oracle needs the endpoint to announce as ORACLE: set inft.publicUrl in the config",
        "BAD_CONFIG",
      );
    const agentNft = IAgentNFT__factory.connect(
      await chain.moduleAddress(manifest.contracts.agentNft.name),
      chain.runner,
    );
    const oracle = new InftOracle(
      chain,
      store,
      await StorageClient.connect(chain),
      agentNft,
      new ProofDomain(chain.chainId, getAddress(await agentNft.getAddress())),
      paidChat,
      config.inft,
      log,
      metrics,
    );
    await announceOracle(chain, endpoint, log);
    const status = { endpoint: endpoint.url, sealedExecutor: paidChat ? "paid" : "signed" };
    log.info("iNFT oracle serving", status);
    return {
      health: () => ({ inft: status }),
      http: (request, response, route) => oracle.route(request, response, route),
      stop: () => Promise.resolve(),
    };
  },
};

/** Announces the oracle's endpoint in NodeStaking's ORACLE role, where agent owners discover it. */
async function announceOracle(chain: ZgChain, endpoint: { url: string; region: string }, log: Logger) {
  const staking = await StakingClient.connect(chain);
  const status = await staking.status(chain.address as string, "ORACLE");
  if (!status.active) {
    log.warn("not an active ORACLE: ownership proofs of this oracle will be refused on-chain");
    return;
  }
  if (status.endpoint !== endpoint.url || status.region !== endpoint.region)
    await staking.announce("ORACLE", { endpoint: endpoint.url, region: endpoint.region });
}
