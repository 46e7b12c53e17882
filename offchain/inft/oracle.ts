import { randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { getAddress, hexlify, isAddress, isHexString, ZeroAddress } from "ethers";
import { Counter, type Registry } from "prom-client";
import { z } from "zod";
import { IAgentNFT__factory, type IAgentNFT } from "../../typechain-types";
import type { ZgChain } from "../core/chain";
import { inft as manifest } from "./module";
import { validate } from "../core/config";
import { ZgError } from "../core/errors";
import { header, HttpError, readJson, replyJson } from "../core/http";
import type { Logger } from "../core/log";
import type { DurableStore } from "../core/store";
import type { RunningWorker, WorkerService } from "../core/worker";
import { baseModel, trainModel } from "../engine/builtin";
import { BuiltinEngine, canonicalRequest, chatCompletionBody } from "../engine/engines";
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
  /**
   * The endpoint announced in NodeStaking's ORACLE role, where agent owners find this oracle. Without it, the
   * endpoint of the worker's paid chat (the provider's on-chain service) is announced.
   */
  inft: z
    .object({ publicUrl: z.string().url(), region: z.string().max(32).default("") })
    .strict()
    .optional(),
};

/**
 * The ERC-7857 oracle: it attests that it holds the keys of agents' data (mint and update), re-encrypts an agent
 * for its new owner on transfer or clone (fresh key, new ciphertext in storage, keys sealed to the receiver and to
 * itself), and runs an agent's model for its owner and authorized users without revealing the data (the sealed
 * executor): paid like any inference where the worker offers paid chat, else answered to a signed request. Keys
 * rest in its store sealed to its own key.
 */
class InftOracle {
  private readonly agents = new Map<string, BuiltinEngine>();
  private readonly operations: Counter;

  constructor(
    private readonly chain: ZgChain,
    private readonly store: DurableStore,
    private readonly storage: StorageClient,
    private readonly agentNft: IAgentNFT,
    private readonly domain: ProofDomain,
    private readonly paidChat: PaidChat | undefined,
    private readonly log: Logger,
    metrics: Registry,
  ) {
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
      return reply(async () => this.seal(await readJson(request)));
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
              engineFor: (user) => this.agentEngineFor(tokenId, user),
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
    const engine = await this.agentEngineFor(tokenId, user);
    const completion = await engine.complete(canonical);
    return chatCompletionBody(
      `chatcmpl-${randomBytes(8).toString("hex")}`,
      Date.now(),
      engine.model,
      completion,
    );
  }

  /** The agent's model for `user`, who must be its owner or an authorized user: checked before any work. */
  private async agentEngineFor(tokenId: bigint, user: string): Promise<BuiltinEngine> {
    await this.requireUser(tokenId, user);
    const engine = await this.agentEngine(tokenId);
    this.operations.inc({ kind: "infer" });
    return engine;
  }

  /**
   * Mint and update: the caller sends each entry's new data hash (its ciphertext is in storage) with the data key
   * sealed to this oracle; the oracle opens the ciphertext with it (so it really holds the key), keeps the key, and
   * signs an ownership proof sealing the key to the owner.
   */
  private async seal(raw: unknown): Promise<{ proofs: OwnershipProof[] }> {
    const body = validate(sealSchema, raw, "request", "BAD_INPUT");
    if (pubkeyAddress(body.ownerPubkey) !== getAddress(body.owner)) {
      throw new HttpError(400, `ownerPubkey is not the public key of ${body.owner}`);
    }
    const deadline = BigInt(body.deadline);
    const proofs: OwnershipProof[] = [];
    for (const [index, entry] of body.entries.entries()) {
      let key: Uint8Array;
      try {
        key = openKey(entry.sealedKey, this.chain.privateKey);
      } catch {
        throw new HttpError(
          400,
          `entry ${index}: the key is not sealed to this oracle (see GET /v1/inft/identity)`,
        );
      }
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
   * current hash and the receiver's public key) are checked; each entry is decrypted, re-encrypted under a fresh key
   * and stored anew, and the new key is sealed to the receiver and to this oracle.
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
    const proofs: TransferValidityProof[] = [];
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
      const key = await this.keyOf(data.dataHash);
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

  /** The agent's own model: the built-in base trained further on the agent's decrypted texts. */
  private async agentEngine(tokenId: bigint): Promise<BuiltinEngine> {
    const datas = await this.agentNft.intelligentDatasOf(tokenId).catch(() => {
      throw new HttpError(404, `token ${tokenId} does not exist`);
    });
    const cacheKey = `${tokenId}:${datas.map((d) => d.dataHash).join(",")}`;
    const cached = this.agents.get(cacheKey);
    if (cached) return cached;
    const texts: string[] = [];
    for (const data of datas) {
      const plaintext = decryptData(await this.keyOf(data.dataHash), await this.ciphertext(data.dataHash));
      texts.push(new TextDecoder("utf-8", { fatal: false }).decode(plaintext));
    }
    const engine = new BuiltinEngine(trainModel(texts, baseModel()), agentModelId(tokenId));
    this.operations.inc({ kind: "train" });
    if (this.agents.size >= MAX_CACHED_AGENTS) this.agents.delete(this.agents.keys().next().value as string);
    this.agents.set(cacheKey, engine);
    return engine;
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
      return await this.storage.downloadBytes(root);
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
    const endpoint = config.inft
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
