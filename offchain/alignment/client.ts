import { getAddress, type Log } from "ethers";
import {
  AlignmentLicense__factory,
  AlignmentPolicy__factory,
  AlignmentRewards__factory,
  Disputes__factory,
  type AlignmentLicense,
  type AlignmentPolicy,
  type AlignmentRewards,
  type Disputes,
} from "../../typechain-types";
import type { ZgChain } from "../core/chain";
import { ZgError } from "../core/errors";
import type { LogFilter } from "../core/chain-reader";
import { ServingClient } from "../serving/client";
import { statementOf, type Receipt } from "../serving/protocol";
import { StorageClient } from "../storage/client";
import { alignment } from "./module";
import { parsePolicy, type Policy } from "./policy";

/** What a dispute says is wrong (`IDisputes.Kind`). */
export type DisputeKind = "REEXECUTION" | "POLICY";
const KINDS: DisputeKind[] = ["REEXECUTION", "POLICY"];

/** `IDisputes.Status` names. */
const STATUSES = ["none", "open", "upheld", "rejected"] as const;

/** A dispute's state, for listings. */
export interface DisputeSummary {
  id: string;
  provider: string;
  kind: DisputeKind;
  status: (typeof STATUSES)[number];
  licenseId: string;
  votingEnds: string;
  voters: number;
  outcome: number;
}

/** A dispute as the chain recorded its filing: what an alignment node needs to judge it. */
export interface OpenDispute {
  id: string;
  provider: string;
  kind: DisputeKind;
  statementDigest: string;
  evidenceRoot: string;
  policyVersion: number;
  votingEnds: string;
}

/** `IDisputes.Status.OPEN`. */
const DISPUTE_OPEN = 1n;
/** Disputes a license's vote word holds (Disputes.sol: 5 bits a vote, 51 to a word). */
const VOTES_PER_WORD = 51n;

/** The largest evidence document read back from storage (a receipt with its request and response). */
const MAX_EVIDENCE_BYTES = 1 << 20;

/**
 * The alignment SDK: licenses, the policy (published in the storage module, its root on-chain), disputes with
 * their evidence, votes, and liveness. Nodes and the CLI use it; it is the only path to the alignment contracts.
 */
export class AlignmentClient {
  private readonly policies = new Map<number, Policy>();

  private constructor(
    private readonly chain: ZgChain,
    readonly license: AlignmentLicense,
    readonly policyRegistry: AlignmentPolicy,
    readonly disputes: Disputes,
    readonly rewards: AlignmentRewards,
    readonly serving: ServingClient,
    readonly storage: StorageClient,
  ) {}

  static async connect(chain: ZgChain): Promise<AlignmentClient> {
    const { contracts } = alignment;
    return new AlignmentClient(
      chain,
      AlignmentLicense__factory.connect(await chain.moduleAddress(contracts.license.name), chain.runner),
      AlignmentPolicy__factory.connect(await chain.moduleAddress(contracts.policy.name), chain.runner),
      Disputes__factory.connect(await chain.moduleAddress(contracts.disputes.name), chain.runner),
      AlignmentRewards__factory.connect(await chain.moduleAddress(contracts.rewards.name), chain.runner),
      await ServingClient.connect(chain),
      await StorageClient.connect(chain),
    );
  }

  async isAuthorized(license: bigint, account: string): Promise<boolean> {
    return this.license.isAuthorized(license, account);
  }

  /**
   * The licenses `account` may act for now: those it holds and those it runs as their operator (found from the
   * license's Transfer and OperatorSet events, each checked against the current state).
   */
  async licensesOf(account: string): Promise<bigint[]> {
    const [received, operated] = await Promise.all([
      this.chain.findEvents(this.license, this.license.filters.Transfer(undefined, account)),
      this.chain.findEvents(this.license, this.license.filters.OperatorSet(undefined, undefined, account)),
    ]);
    const candidates = [...new Set([...received, ...operated].map((event) => event.args.tokenId as bigint))];
    const authorized = await Promise.all(candidates.map((id) => this.license.isAuthorized(id, account)));
    return candidates.filter((_, i) => authorized[i]).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }

  /** Governance or the license's minter: mints one license to `to`; returns its id. */
  async mintLicense(to: string): Promise<bigint> {
    const receipt = await this.chain.send(`mint a license to ${to}`, () => this.license.mint(to));
    for (const entry of receipt.logs) {
      const parsed = this.license.interface.parseLog(entry);
      if (parsed?.name === "Transfer") return parsed.args.tokenId as bigint;
    }
    throw new ZgError("the license was minted but its Transfer event is missing", "ZG_ERROR");
  }

  /** Every provider with a registered inference service. */
  async providers(): Promise<string[]> {
    return (await this.serving.services()).map((service) => service.provider);
  }

  /** The EIP-712 digest of a receipt's response statement: what a dispute is about, once. */
  statementDigest(receipt: Receipt): string {
    return this.serving.domain.responseDigest(statementOf(receipt));
  }

  // ─── policy ──────────────────────────────────────────────────────────────────────────────────────

  /** The current policy version (0: none published yet). */
  async policyVersion(): Promise<number> {
    return Number(await this.policyRegistry.versions());
  }

  /** Policy `version` (default: the current one), read from storage by its on-chain root and checked. */
  async policy(version?: number): Promise<Policy | undefined> {
    const wanted = version ?? (await this.policyVersion());
    if (wanted === 0) return undefined;
    const known = this.policies.get(wanted);
    if (known) return known;
    const [root, size] = await this.policyRegistry.policyAt(wanted);
    const bytes = await this.storage.downloadBytes(root, { maxBytes: MAX_EVIDENCE_BYTES });
    if (BigInt(bytes.length) !== size)
      throw new ZgError(
        `policy version ${wanted} is ${bytes.length} bytes in storage, ${size} on-chain`,
        "ZG_ERROR",
      );
    const policy = parsePolicy(bytes);
    this.policies.set(wanted, policy);
    return policy;
  }

  /**
   * Stores a policy document in the storage module and records its root as the next version. Governance only:
   * where the timelock governs, propose the same `setPolicy` call with `zg gov propose` instead.
   */
  async publishPolicy(policy: Policy): Promise<{ version: number; root: string; size: number }> {
    const { root, size } = await this.storePolicy(policy);
    await this.chain.send("record the policy", () => this.policyRegistry.setPolicy(root, size));
    return { version: await this.policyVersion(), root, size };
  }

  /** Stores a policy document in the storage module: the root and size a `setPolicy` (or a proposal) records. */
  async storePolicy(policy: Policy): Promise<{ root: string; size: number }> {
    const bytes = Buffer.from(JSON.stringify(policy, null, 2));
    const { root } = await this.storage.upload(bytes);
    return { root, size: bytes.length };
  }

  // ─── disputes ────────────────────────────────────────────────────────────────────────────────────

  /**
   * Files a dispute about `receipt` for `license`: the receipt (request, response, provider's signature) is stored
   * in the storage module as the evidence, and the statement with the provider's signature goes on-chain with
   * the bond. Returns the dispute's id.
   */
  async fileDispute(license: bigint, kind: DisputeKind, receipt: Receipt): Promise<bigint> {
    const evidence = Buffer.from(JSON.stringify(receipt));
    const { root } = await this.storage.upload(evidence);
    const { bond } = await this.disputes.params();
    const statement = statementOf(receipt);
    const version = await this.policyVersion();
    const tx = await this.chain.send(`file a ${kind} dispute against ${receipt.provider}`, () =>
      this.disputes.fileDispute(license, KINDS.indexOf(kind), statement, receipt.signature, root, version, {
        value: bond,
      }),
    );
    for (const entry of tx.logs) {
      const dispute = this.parseDisputeFiled(entry);
      if (dispute) return BigInt(dispute.id);
    }
    throw new ZgError("the dispute was filed but its event is missing", "ZG_ERROR");
  }

  /** The evidence of a dispute: the receipt stored under its root, checked against the statement filed. */
  async evidence(dispute: OpenDispute): Promise<Receipt> {
    const bytes = await this.storage.downloadBytes(dispute.evidenceRoot, { maxBytes: MAX_EVIDENCE_BYTES });
    let receipt: Receipt;
    try {
      receipt = JSON.parse(Buffer.from(bytes).toString("utf8")) as Receipt;
    } catch {
      throw new ZgError(`the evidence of dispute ${dispute.id} is not a receipt`, "BAD_INPUT");
    }
    if (this.statementDigest(receipt) !== dispute.statementDigest)
      throw new ZgError(`the evidence of dispute ${dispute.id} is not the statement filed`, "BAD_INPUT");
    return receipt;
  }

  /** Votes `score` (0: the provider is right … 10: at fault) for `license`, unless it voted already. */
  async voteIfNot(id: bigint, license: bigint, score: number): Promise<boolean> {
    if ((await this.disputes.voteOf(id, license)).voted) return false;
    await this.chain.send(`vote on dispute ${id}`, () => this.disputes.vote(id, license, score));
    return true;
  }

  /**
   * Reserves the vote words of `licenses` for disputes `from` to `to` (one transaction, only for the licenses
   * with a word not reserved or in use yet), so that their votes on them write no fresh storage slot.
   */
  async reserveVotes(licenses: bigint[], from: bigint, to: bigint): Promise<void> {
    const words: bigint[] = [];
    for (let word = from / VOTES_PER_WORD; word <= to / VOTES_PER_WORD; word++)
      words.push(word * VOTES_PER_WORD > from ? word * VOTES_PER_WORD : from);
    const missing: bigint[] = [];
    for (const license of licenses) {
      const reserved = await Promise.all(words.map((id) => this.disputes.isReserved(license, id)));
      if (reserved.includes(false)) missing.push(license);
    }
    if (missing.length > 0)
      await this.chain.send(`reserve the vote words of ${missing.length} license(s)`, () =>
        this.disputes.reserveVotes(missing, from, to),
      );
  }

  /** Every dispute (or only `only`), as the chain records it now. */
  async listDisputes(only?: bigint): Promise<DisputeSummary[]> {
    const count = await this.disputes.disputeCount();
    const ids = only === undefined ? Array.from({ length: Number(count) }, (_, i) => BigInt(i + 1)) : [only];
    return Promise.all(
      ids.map(async (id) => {
        const info = await this.disputes.disputeOf(id);
        if (info.status === 0n) throw new ZgError(`there is no dispute ${id}`, "NOT_FOUND");
        return {
          id: id.toString(),
          provider: info.provider,
          kind: KINDS[Number(info.kind)],
          status: STATUSES[Number(info.status)],
          licenseId: info.licenseId.toString(),
          votingEnds: info.votingEnds.toString(),
          voters: Number(info.voters),
          outcome: Number(info.outcome),
        };
      }),
    );
  }

  /** Resolves a dispute whose vote ended, unless someone did. */
  async resolveIfOpen(id: bigint): Promise<void> {
    if ((await this.disputes.disputeOf(id)).status !== DISPUTE_OPEN) return;
    await this.chain.send(`resolve dispute ${id}`, () => this.disputes.resolve(id));
  }

  disputesFilter(): LogFilter {
    return {
      address: this.disputes.target as string,
      topics: [this.disputes.interface.getEvent("DisputeFiled").topicHash],
    };
  }

  /** A `DisputeFiled` log as an open dispute; undefined for another log. */
  parseDisputeFiled(entry: Log): OpenDispute | undefined {
    const parsed = this.disputes.interface.parseLog(entry);
    if (!parsed || parsed.name !== "DisputeFiled") return undefined;
    const args = parsed.args;
    return {
      id: args.id.toString(),
      provider: getAddress(args.provider),
      kind: KINDS[Number(args.kind)],
      statementDigest: args.digest,
      evidenceRoot: args.evidenceRoot,
      policyVersion: Number(args.policyVersion),
      votingEnds: args.votingEnds.toString(),
    };
  }

  // ─── liveness ────────────────────────────────────────────────────────────────────────────────────

  async currentEpoch(): Promise<bigint> {
    return this.rewards.currentEpoch();
  }

  /**
   * Moves the alignment share of serving and storage fees (held for AlignmentRewards by the ledger and the
   * Market) into the current epoch's reward pool; nothing is sent when nothing is held.
   */
  async collectFees(): Promise<boolean> {
    const amount = await this.rewards.collect.staticCall();
    if (amount === 0n) return false;
    await this.chain.send("collect the alignment share of fees", () => this.rewards.collect());
    return true;
  }

  /** Attests liveness for `licenses` in the current epoch (one transaction). */
  async attestLiveness(licenses: bigint[]): Promise<void> {
    await this.chain.send(`attest liveness for ${licenses.length} license(s)`, () =>
      this.rewards.attest(licenses),
    );
  }
}
