import { Counter } from "prom-client";
import type { Registry } from "prom-client";
import type { StorageChallenges } from "../../typechain-types";
import type { ZgChain } from "../core/chain";
import { firstLine } from "../core/errors";
import type { Logger } from "../core/log";
import type { DurableStore } from "../core/store";
import type { LogEntry } from "./log";
import { SECTORS_PER_SEGMENT, type SegmentProof } from "./merkle";
import { answerCalldata, sectorProof } from "./sector-proof";

/** What the responder reads from the storage node it runs in. */
export interface HeldFiles {
  byRoot(root: string): Promise<LogEntry | undefined>;
  segment(entry: LogEntry, index: number): Promise<{ bytes: Uint8Array; proof: SegmentProof } | undefined>;
}

/** One challenge as the node recorded it. */
export interface ChallengeRecord {
  epoch: number;
  dataRoot: string;
  sectorIndex: number;
  deadline: number;
  status: "answered" | "failed";
  reason?: string;
}

const pendingKey = (root: string) => `challenges/pending/${root.toLowerCase()}`;
const declaredKey = (root: string) => `challenges/declared/${root.toLowerCase()}`;
const recordKey = (epoch: number) => `challenges/epoch/${epoch.toString().padStart(12, "0")}`;

/**
 * The storage node's side of the challenge game: declares the files it holds completely (for its shard), and
 * every epoch reads its challenge, builds the sector proof from its own segment and the proof that segment
 * was uploaded with, and answers before the deadline. Every challenge and outcome is recorded in the store.
 */
export class ChallengeResponder {
  private readonly outcomes: Counter;
  /** Whether a file was noted complete since the last declaration (set at start: the store may hold some). */
  private noted = true;
  /** The chain head at the last tick that succeeded. */
  private tickedAt: number | undefined;

  constructor(
    private readonly chain: ZgChain,
    private readonly contract: StorageChallenges,
    private readonly store: DurableStore,
    private readonly files: HeldFiles,
    private readonly log: Logger,
    metrics: Registry,
  ) {
    this.outcomes = new Counter({
      name: "zg_storage_challenges_total",
      help: "Storage challenges handled, by outcome",
      labelNames: ["outcome"],
      registers: [metrics],
    });
  }

  /** Remembers that a file is now complete here; it is declared at the next tick. */
  async noteComplete(root: string): Promise<void> {
    if ((await this.store.get(declaredKey(root))) === undefined) await this.store.put(pendingKey(root), true);
    this.noted = true;
  }

  /**
   * Whether a tick could do anything at chain head `head`: a file was noted complete, or the head moved since the
   * last tick that succeeded. Challenges change only with blocks, so an idle node makes no calls while the chain
   * makes none either.
   */
  due(head: number): boolean {
    return this.noted || head !== this.tickedAt;
  }

  /**
   * Answers the challenges of the epochs whose window is open at chain head `head`, then declares pending files:
   * an answer has a deadline, a declaration does not, so answers never wait behind declarations.
   */
  async tick(head: number): Promise<void> {
    const current = Number(await this.contract.currentEpoch());
    for (const epoch of [current - 1, current]) {
      if (epoch >= 0) await this.answerEpoch(epoch);
    }
    await this.declarePending();
    this.tickedAt = head;
  }

  private async declarePending(): Promise<void> {
    this.noted = false;
    const roots: string[] = [];
    for await (const key of this.store.keys("challenges/pending/"))
      roots.push(key.slice(key.lastIndexOf("/") + 1));
    if (roots.length === 0) return;
    try {
      await this.chain.send(`declare ${roots.length} file(s)`, () => this.contract.declare(roots));
    } catch (error) {
      this.noted = true;
      throw error;
    }
    await this.store.batch(
      roots.flatMap((root) => [
        { type: "del" as const, key: pendingKey(root) },
        { type: "put" as const, key: declaredKey(root), value: true },
      ]),
    );
    this.log.info("declared files for storage challenges", { count: roots.length });
  }

  private async answerEpoch(epoch: number): Promise<void> {
    if ((await this.store.get<ChallengeRecord>(recordKey(epoch)))?.status === "answered") return;
    const me = this.chain.address!;
    let challenge;
    try {
      challenge = await this.contract.challengeOf(me, epoch);
    } catch {
      return; // not started, void, or nothing to answer for this epoch
    }
    if (!challenge.active || (await this.contract.answered(me, epoch))) return;
    if ((await this.chain.provider.getBlockNumber()) > Number(challenge.deadline)) return;
    const record: ChallengeRecord = {
      epoch,
      dataRoot: challenge.dataRoot,
      sectorIndex: Number(challenge.sectorIndex),
      deadline: Number(challenge.deadline),
      status: "failed",
    };
    try {
      const entry = await this.files.byRoot(challenge.dataRoot);
      if (!entry) throw new Error(`no log entry for ${challenge.dataRoot}`);
      const segmentIndex = Math.floor(record.sectorIndex / SECTORS_PER_SEGMENT);
      const held = await this.files.segment(entry, segmentIndex);
      if (!held) throw new Error(`segment ${segmentIndex} of ${challenge.dataRoot} is not in the store`);
      const proof = sectorProof({
        heights: entry.nodes.map((node) => node.height),
        sectorIndex: record.sectorIndex,
        segment: held.bytes,
        segmentLemma: held.proof.lemma,
      });
      // An answer must land before the deadline: raise the fee if it sits unmined.
      await this.chain.sendUrgent(`answer the challenge of epoch ${epoch}`, async () => ({
        to: await this.contract.getAddress(),
        data: answerCalldata(epoch, proof.sector, proof.siblings),
      }));
      record.status = "answered";
      this.log.info("answered storage challenge", {
        epoch,
        root: challenge.dataRoot,
        sector: record.sectorIndex,
      });
    } catch (error) {
      record.reason = firstLine(error);
      this.log.error("cannot answer storage challenge", {
        epoch,
        root: challenge.dataRoot,
        error: record.reason,
      });
    }
    this.outcomes.inc({ outcome: record.status });
    await this.store.put(recordKey(epoch), record);
  }

  /** Every challenge recorded, newest first (for /health and the CLI). */
  async history(limit = 20): Promise<ChallengeRecord[]> {
    const records: ChallengeRecord[] = [];
    for await (const [, record] of this.store.entries<ChallengeRecord>("challenges/epoch/"))
      records.push(record);
    return records.reverse().slice(0, limit);
  }
}
