import type { IncomingMessage, ServerResponse } from "node:http";
import { getAddress, hexlify, isAddress, isHexString, ZeroAddress } from "ethers";
import { Counter, type Registry } from "prom-client";
import { z } from "zod";
import { IAgentNFT__factory, type IAgentNFT } from "../../typechain-types";
import type { ZgChain } from "../core/chain";
import { inft as manifest } from "./module";
import { validate } from "../core/config";
import { ZgError } from "../core/errors";
import { header, HttpError, readJson } from "../core/http";
import type { Logger } from "../core/log";
import type { DurableStore } from "../core/store";
import { baseModel, trainModel } from "../serving/builtin";
import { BuiltinEngine } from "../serving/engines";
import type { InferenceOracle } from "../serving/oracle";
import { USER_HEADER } from "../serving/protocol";
import { StorageClient } from "../storage/client";
import { AUTH_HEADER, requestSigner } from "./auth";
import { decryptData, encryptData, newDataKey, openKey, publicKeyOf, sealKey } from "./crypto";
import {
  ORACLE_TYPE_TEE,
  pubkeyAddress,
  ProofDomain,
  type OwnershipProof,
  type TransferValidityProof,
} from "./proofs";

const keyKey = (root: string) => `inft/key/${root.toLowerCase()}`;
const MAX_ENTRIES = 32;
const MAX_CACHED_AGENTS = 32;

const hash32 = z.string().regex(/^0x[0-9a-fA-F]{64}$/, "must be a 32-byte 0x-hex hash");
const pubkey = z
  .string()
  .regex(/^0x[0-9a-fA-F]{128}$/, "must be a 64-byte uncompressed public key (0x + 128 hex)");
const sealSchema = z
  .object({
    owner: z.string().refine(isAddress, "must be an address"),
    ownerPubkey: pubkey,
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
      .max(MAX_ENTRIES),
  })
  .strict();
const reencryptSchema = z
  .object({
    tokenId: z.string().regex(/^\d{1,78}$/),
    to: z.string().refine(isAddress, "must be an address"),
    targetPubkey: pubkey,
    accessProofs: z
      .array(
        z
          .object({
            nonce: z.string().regex(/^\d{1,78}$/),
            deadline: z.string().regex(/^\d{1,20}$/),
            signature: z.string().regex(/^0x[0-9a-fA-F]{130}$/),
          })
          .strict(),
      )
      .min(1)
      .max(MAX_ENTRIES),
  })
  .strict();

/**
 * The ERC-7857 oracle inside the inference oracle: it attests that it holds the keys of agents' data (mint and
 * update), re-encrypts an agent for its new owner on transfer or clone (fresh key, new ciphertext in storage,
 * keys sealed to the receiver and to itself), and runs an agent's model for its owner and authorized users
 * without revealing the data (the sealed executor). Keys rest in its store sealed to its own key.
 */
export class InftService {
  private readonly agents = new Map<string, BuiltinEngine>();
  private readonly operations: Counter;

  private constructor(
    private readonly chain: ZgChain,
    private readonly store: DurableStore,
    private readonly storage: StorageClient,
    private readonly agentNft: IAgentNFT,
    private readonly domain: ProofDomain,
    private readonly oracle: InferenceOracle,
    private readonly log: Logger,
    metrics: Registry,
  ) {
    this.operations = new Counter({
      name: "zg_inft_operations_total",
      help: "iNFT oracle operations by kind",
      labelNames: ["kind"],
      registers: [metrics],
    });
  }

  static async start(
    chain: ZgChain,
    store: DurableStore,
    oracle: InferenceOracle,
    log: Logger,
    metrics: Registry,
  ): Promise<InftService> {
    const agentNft = IAgentNFT__factory.connect(
      await chain.moduleAddress(manifest.contracts.agentNft.name),
      chain.runner,
    );
    return new InftService(
      chain,
      store,
      await StorageClient.connect(chain),
      agentNft,
      new ProofDomain(chain.chainId, getAddress(await agentNft.getAddress())),
      oracle,
      log,
      metrics,
    );
  }

  route(request: IncomingMessage, response: ServerResponse, route: string): boolean {
    const method = request.method ?? "GET";
    if (method === "GET" && route === "/v1/inft/identity") {
      return this.oracle.reply(response, async () => ({
        address: this.chain.address,
        publicKey: this.chain.publicKey,
        domain: this.domain.separator,
      }));
    }
    if (method === "POST" && route === "/v1/inft/seal") {
      return this.oracle.reply(response, async () => this.seal(await readJson(request)));
    }
    if (method === "POST" && route === "/v1/inft/reencrypt") {
      return this.oracle.reply(response, async () => {
        const raw = await readJson(request);
        const signer = requestSigner(header(request, AUTH_HEADER), route, JSON.stringify(raw));
        return this.reencrypt(raw, signer);
      });
    }
    const chat = /^\/v1\/inft\/(\d{1,78})\/chat\/completions$/.exec(route);
    if (method === "POST" && chat) {
      return this.oracle.reply(response, async () => {
        const tokenId = BigInt(chat[1]);
        // A first check on the claimed user before decrypting anything; the voucher then proves who it is.
        const claimed = header(request, USER_HEADER);
        if (!claimed || !isAddress(claimed))
          throw new HttpError(400, `header ${USER_HEADER} must be the user's address`);
        await this.requireUser(tokenId, getAddress(claimed));
        const engine = await this.agentEngine(tokenId);
        this.operations.inc({ kind: "infer" });
        return this.oracle.chat(request, response, engine, (user) => this.requireUser(tokenId, user));
      });
    }
    return false;
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
    const body = validate(reencryptSchema, raw, "request", "BAD_INPUT");
    const tokenId = BigInt(body.tokenId);
    const to = getAddress(body.to);
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
    const engine = new BuiltinEngine(trainModel(texts, baseModel()), `zg-agent-${tokenId}`);
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
