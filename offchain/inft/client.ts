import { encodeBytes32String, getAddress, hexlify, type TransactionReceipt, ZeroAddress } from "ethers";
import { IAgentNFT__factory, type IAgentNFT } from "../../typechain-types";
import type { ZgChain } from "../core/chain";
import { serving } from "../serving/module";
import { inft as manifest } from "./module";
import { ZgError } from "../core/errors";
import { requestJson } from "../core/http";
import { canonicalRequest } from "../engine/engines";
import { ServingClient } from "../serving/client";
import { InferenceSession, type InferenceParams, type InferenceResult } from "../serving/inference";
import { StakingClient } from "../staking/client";
import { StorageClient } from "../storage/client";
import type { AccessBundle } from "./access";
import { agentChatRoute, agentModelId, AUTH_HEADER, authHeader } from "./auth";
import { decryptData, encryptData, newDataKey, openKey, sealKey } from "./crypto";
import {
  NEW_ENTRY,
  PROOF_VALIDITY_SECONDS,
  proofNonce,
  ProofDomain,
  toContractOwnership,
  toContractTransfer,
  type OwnershipProof,
  type TransferValidityProof,
} from "./proofs";

/** One piece of an agent: a description and its bytes (stored encrypted; the data hash is the storage root). */
export interface AgentEntry {
  description: string;
  data: Uint8Array;
}

/** An oracle staked as ORACLE, with the endpoint it announced and its public key. */
export interface OracleEndpoint {
  address: string;
  url: string;
  publicKey: string;
}

/**
 * An agent's answer: paid like any inference (verified receipt, fee, receipt file) where InferenceServing is
 * deployed, else unpaid, to a request signed by the user.
 */
export type AgentAnswer =
  ({ paid: true } & InferenceResult) | { paid: false; content: string; oracle: string };

export interface AgentView {
  tokenId: bigint;
  owner: string;
  datas: { dataDescription: string; dataHash: string }[];
  authorizedUsers: string[];
  provenance: { block: number; tx: string; event: string; detail: string }[];
}

/**
 * AI agents as ERC-7857 tokens, from the SDK: mint encrypts each entry under a fresh key, stores the ciphertext
 * and has an oracle attest it holds the key; transfer and clone have the oracle re-encrypt for the receiver;
 * decrypt opens the owner's own sealed keys; infer asks the oracle to run the agent's model.
 */
export class InftClient {
  private constructor(
    readonly chain: ZgChain,
    readonly agentNft: IAgentNFT,
    private readonly domain: ProofDomain,
    private readonly storage: StorageClient,
    private readonly staking: StakingClient,
  ) {}

  static async connect(chain: ZgChain): Promise<InftClient> {
    const agentNft = IAgentNFT__factory.connect(
      await chain.moduleAddress(manifest.contracts.agentNft.name),
      chain.runner,
    );
    const domain = new ProofDomain(chain.chainId, getAddress(await agentNft.getAddress()));
    return new InftClient(
      chain,
      agentNft,
      domain,
      await StorageClient.connect(chain),
      await StakingClient.connect(chain),
    );
  }

  /** The oracle to use: the one named, else the first active ORACLE that announced an endpoint. */
  async oracle(address?: string): Promise<OracleEndpoint> {
    const active = (await this.staking.activeNodes("ORACLE")).filter((node) => node.endpoint);
    const chosen = address ? active.find((node) => node.operator === getAddress(address)) : active[0];
    if (!chosen) {
      throw new ZgError(
        address
          ? `${address} is not an active ORACLE with an endpoint`
          : "no active ORACLE has announced an endpoint",
        "NOT_FOUND",
      );
    }
    const identity = (await this.call(chosen.endpoint, "/v1/inft/identity")) as {
      address: string;
      publicKey: string;
    };
    if (getAddress(identity.address) !== chosen.operator) {
      throw new ZgError(
        `the oracle at ${chosen.endpoint} signs as ${identity.address}, not ${chosen.operator}`,
        "ZG_ERROR",
      );
    }
    return { address: chosen.operator, url: chosen.endpoint, publicKey: identity.publicKey };
  }

  /** Mints an agent to the caller; returns its token id and data hashes. */
  async mint(
    entries: AgentEntry[],
    options: { oracle?: string } = {},
  ): Promise<{ tokenId: bigint; dataHashes: string[] }> {
    if (entries.length === 0) throw new ZgError("an agent needs at least one data entry", "BAD_INPUT");
    const oracle = await this.oracle(options.oracle);
    const stored = await this.store(entries, oracle);
    const proofs = await this.seal(
      oracle,
      stored.map((s) => ({ ...s, oldDataHash: NEW_ENTRY })),
    );
    const fee = await this.agentNft.mintFee();
    const owner = this.me();
    const receipt = await this.chain.send("mint agent", () =>
      this.agentNft.mint(
        owner,
        entries.map((entry, i) => ({ dataDescription: entry.description, dataHash: stored[i].dataHash })),
        proofs.map(toContractOwnership),
        { value: fee },
      ),
    );
    return { tokenId: this.mintedId(receipt), dataHashes: stored.map((s) => s.dataHash) };
  }

  /**
   * The receiver's side of a transfer or clone: access proofs over the token's current entries and its key. A
   * delegate (see `delegate`) signs for the receiver it names, with that receiver's public key.
   */
  async accept(
    tokenId: bigint,
    options: { receiver?: { address: string; publicKey: string } } = {},
  ): Promise<AccessBundle> {
    const datas = await this.agentNft.intelligentDatasOf(tokenId);
    const targetPubkey = options.receiver?.publicKey ?? this.chain.publicKey;
    const deadline = BigInt(Math.floor(Date.now() / 1000) + PROOF_VALIDITY_SECONDS);
    const now = Date.now();
    return {
      tokenId: tokenId.toString(),
      to: options.receiver ? getAddress(options.receiver.address) : this.me(),
      targetPubkey,
      accessProofs: datas.map((data, i) => {
        const nonce = proofNonce(i, now);
        const digest = this.domain.accessDigest(data.dataHash, targetPubkey, nonce, deadline);
        return {
          nonce: nonce.toString(),
          deadline: deadline.toString(),
          signature: this.chain.signDigest(digest),
        };
      }),
    };
  }

  /** Transfers (or clones) the caller's token to the receiver who signed `access`; the oracle re-encrypts it. */
  async transfer(
    access: AccessBundle,
    options: { clone?: boolean; oracle?: string } = {},
  ): Promise<{ tokenId: bigint; receipt: TransactionReceipt }> {
    const tokenId = BigInt(access.tokenId);
    const owner = getAddress(await this.agentNft.ownerOf(tokenId));
    if (owner !== this.me())
      throw new ZgError(`token ${tokenId} belongs to ${owner}, not to you`, "BAD_INPUT");
    const oracle = await this.oracle(options.oracle);
    const body = JSON.stringify(access);
    const { proofs } = (await this.call(oracle.url, "/v1/inft/reencrypt", body, {
      [AUTH_HEADER]: authHeader(this.chain, "/v1/inft/reencrypt", body),
    })) as { proofs: TransferValidityProof[] };
    const decoded = proofs.map(toContractTransfer);
    if (options.clone) {
      const fee = await this.agentNft.mintFee();
      const receipt = await this.chain.send("clone agent", () =>
        this.agentNft.iCloneFrom(owner, access.to, tokenId, decoded, { value: fee }),
      );
      return { tokenId: this.mintedId(receipt), receipt };
    }
    const receipt = await this.chain.send("transfer agent", () =>
      this.agentNft.iTransferFrom(owner, access.to, tokenId, decoded),
    );
    return { tokenId, receipt };
  }

  /** Adds entries to the caller's agent, or replaces entry `replace` with new data (the agent grows). */
  async update(
    tokenId: bigint,
    entries: (AgentEntry & { replace?: number })[],
    options: { oracle?: string } = {},
  ) {
    const current = await this.agentNft.intelligentDatasOf(tokenId);
    const oracle = await this.oracle(options.oracle);
    const stored = await this.store(entries, oracle);
    const proofs = await this.seal(
      oracle,
      stored.map((s, i) => {
        const replace = entries[i].replace;
        if (replace !== undefined && (replace < 0 || replace >= current.length)) {
          throw new ZgError(
            `token ${tokenId} has no entry ${replace} (it has ${current.length})`,
            "BAD_INPUT",
          );
        }
        return { ...s, oldDataHash: replace === undefined ? NEW_ENTRY : current[replace].dataHash };
      }),
    );
    return this.chain.send("update agent", () =>
      this.agentNft.update(
        tokenId,
        entries.map((entry, i) => ({ dataDescription: entry.description, dataHash: stored[i].dataHash })),
        proofs.map(toContractOwnership),
      ),
    );
  }

  authorize(tokenId: bigint, user: string) {
    return this.chain.send("authorize usage", () => this.agentNft.authorizeUsage(tokenId, user));
  }

  revoke(tokenId: bigint, user: string) {
    return this.chain.send("revoke authorization", () => this.agentNft.revokeAuthorization(tokenId, user));
  }

  delegate(assistant: string) {
    return this.chain.send("delegate access", () => this.agentNft.delegateAccess(assistant));
  }

  /** The token's owner, entries, authorized users and every event that shaped it. */
  async show(tokenId: bigint): Promise<AgentView> {
    const owner = getAddress(
      await this.agentNft.ownerOf(tokenId).catch(() => {
        throw new ZgError(`token ${tokenId} does not exist`, "NOT_FOUND");
      }),
    );
    const datas = (await this.agentNft.intelligentDatasOf(tokenId)).map((d) => ({
      dataDescription: d.dataDescription,
      dataHash: d.dataHash,
    }));
    const authorizedUsers = [...(await this.agentNft.authorizedUsersOf(tokenId))];
    const provenance: AgentView["provenance"] = [];
    for (const event of await this.chain.findEvents(this.agentNft)) {
      const detail = describeEvent(event.name, event.args as unknown as unknown[], tokenId);
      if (detail !== undefined) {
        provenance.push({ block: event.blockNumber, tx: event.transactionHash, event: event.name, detail });
      }
    }
    return { tokenId, owner, datas, authorizedUsers, provenance };
  }

  /**
   * Recovers the plaintext of every entry of a token the caller owns, with the caller's own key: the keys sealed to
   * the caller (`PublishedSealedKey`) are opened and each entry's ciphertext opens with exactly one of them.
   */
  async decrypt(tokenId: bigint): Promise<{ description: string; dataHash: string; data: Uint8Array }[]> {
    const me = this.me();
    const published = await this.chain.findEvents(
      this.agentNft,
      this.agentNft.filters.PublishedSealedKey(me, tokenId),
    );
    const keys: Uint8Array[] = [];
    for (const event of published.reverse()) {
      for (const sealed of event.args.sealedKeys as string[]) {
        try {
          keys.push(openKey(sealed, this.chain.privateKey));
        } catch {
          // sealed to another key of ours (never expected), or malformed: not one of ours
        }
      }
    }
    const datas = await this.agentNft.intelligentDatasOf(tokenId);
    const out = [];
    for (const [index, data] of datas.entries()) {
      const ciphertext = await this.storage.downloadBytes(data.dataHash);
      let plaintext: Uint8Array | undefined;
      for (const key of keys) {
        try {
          plaintext = decryptData(key, ciphertext);
          break;
        } catch {
          // another entry's key
        }
      }
      if (!plaintext) {
        throw new ZgError(`no key sealed to ${me} opens entry ${index} of token ${tokenId}`, "ZG_ERROR");
      }
      out.push({ description: data.dataDescription, dataHash: data.dataHash, data: plaintext });
    }
    return out;
  }

  /**
   * Runs the agent's own model through the oracle (the sealed executor) as its owner or an authorized user: paid
   * and verified like any inference where InferenceServing is deployed, else asked with a signed request.
   */
  async infer(
    tokenId: bigint,
    prompt: string,
    params: InferenceParams = {},
    options: { oracle?: string } = {},
  ): Promise<AgentAnswer> {
    const oracle = await this.oracle(options.oracle);
    const route = agentChatRoute(tokenId);
    const model = agentModelId(tokenId);
    const messages = [{ role: "user" as const, content: prompt }];
    if (
      (await this.chain.registry.tryGetModule(encodeBytes32String(serving.contracts.serving.name))) !==
      ZeroAddress
    ) {
      const session = await InferenceSession.open(await ServingClient.connect(this.chain), oracle.address);
      return { paid: true, ...(await session.chat(messages, params, { route, model })) };
    }
    const body = JSON.stringify(canonicalRequest({ model, messages, ...params }, model));
    const answer = (await this.call(oracle.url, route, body, {
      [AUTH_HEADER]: authHeader(this.chain, route, body),
    })) as { choices?: { message?: { content?: unknown } }[] };
    const content = answer.choices?.[0]?.message?.content;
    if (typeof content !== "string")
      throw new ZgError(`the oracle at ${oracle.url} answered without the agent's message`, "NETWORK");
    return { paid: false, content, oracle: oracle.address };
  }

  /** Encrypts each entry under a fresh key and stores the ciphertext; the key is sealed to the oracle. */
  private async store(entries: AgentEntry[], oracle: OracleEndpoint) {
    const stored = [];
    for (const entry of entries) {
      const key = newDataKey();
      const uploaded = await this.storage.upload(encryptData(key, entry.data));
      stored.push({ dataHash: uploaded.root, sealedKey: hexlify(sealKey(key, oracle.publicKey)) });
    }
    return stored;
  }

  private async seal(
    oracle: OracleEndpoint,
    entries: { oldDataHash: string; dataHash: string; sealedKey: string }[],
  ): Promise<OwnershipProof[]> {
    // The owner receives the keys, so the proofs spend the owner's nonces; the owner signs the request.
    const now = Date.now();
    const body = JSON.stringify({
      owner: this.me(),
      ownerPubkey: this.chain.publicKey,
      deadline: String(Math.floor(now / 1000) + PROOF_VALIDITY_SECONDS),
      entries: entries.map((entry, i) => ({ ...entry, nonce: proofNonce(i, now).toString() })),
    });
    const { proofs } = (await this.call(oracle.url, "/v1/inft/seal", body, {
      [AUTH_HEADER]: authHeader(this.chain, "/v1/inft/seal", body),
    })) as { proofs: OwnershipProof[] };
    return proofs;
  }

  private mintedId(receipt: TransactionReceipt): bigint {
    for (const log of receipt.logs) {
      const parsed = this.agentNft.interface.parseLog(log);
      if (parsed?.name === "Transfer" && parsed.args[0] === ZeroAddress) {
        return parsed.args[2] as bigint;
      }
    }
    throw new ZgError("the transaction minted no token", "ZG_ERROR");
  }

  private me(): string {
    const address = this.chain.address;
    if (!address)
      throw new ZgError("this command signs: pass --key <keystore> or --private-key", "BAD_CONFIG");
    return address;
  }

  private call(
    base: string,
    route: string,
    body?: string,
    headers: Record<string, string> = {},
  ): Promise<unknown> {
    const url = `${base.replace(/\/+$/, "")}${route}`;
    return requestJson(
      url,
      {
        method: body === undefined ? "GET" : "POST",
        headers: { "content-type": "application/json", ...headers },
        body,
      },
      { label: `the oracle at ${url}`, timeoutMs: 300_000 },
    );
  }
}

/** A one-line account of an AgentNFT event about `tokenId`, or undefined when it is about another token. */
function describeEvent(name: string, args: unknown[], tokenId: bigint): string | undefined {
  const is = (value: unknown) => BigInt(value as bigint) === tokenId;
  switch (name) {
    case "Transfer":
      return is(args[2])
        ? `${args[0] === ZeroAddress ? "minted to" : `from ${String(args[0])} to`} ${String(args[1])}`
        : undefined;
    case "Cloned":
      return is(args[0])
        ? `cloned as token ${String(args[1])} for ${String(args[3])}`
        : is(args[1])
          ? `cloned from token ${String(args[0])}`
          : undefined;
    case "Updated":
      return is(args[0]) ? `data updated (${(args[2] as unknown[]).length} entries)` : undefined;
    case "PublishedSealedKey":
      return is(args[1]) ? `keys sealed to ${String(args[0])}` : undefined;
    case "Authorization":
      return is(args[2]) ? `${String(args[1])} authorized` : undefined;
    case "AuthorizationRevoked":
      return is(args[2]) ? `${String(args[1])} no longer authorized` : undefined;
    default:
      return undefined;
  }
}
