import type { Log } from "ethers";
import { Counter } from "prom-client";
import { z } from "zod";
import { ChainReader } from "../core/chain-reader";
import { firstLine, ZgError } from "../core/errors";
import type { StoreOp } from "../core/store";
import type { WorkerConfig, WorkerService } from "../core/worker";
import { AlignmentClient, type DisputeKind, type OpenDispute } from "./client";
import { judge } from "./judge";

const config = {
  /**
   * The licenses this node runs (as their holder or their operator): it votes and attests liveness for each.
   * Left out, every license its key holds or operates, found on-chain at start.
   */
  licenses: z.array(z.number().int().min(0)).min(1).max(1000).optional(),
  /** How often providers' receipts are audited. */
  auditIntervalMs: z.number().int().min(100).max(86_400_000).default(60_000),
  /** The share of receipts checked (1: every one). */
  sampleRate: z.number().min(0).max(1).default(0.2),
  /** Whether the node files disputes for what it finds (false: it only reports and votes). */
  fileDisputes: z.boolean().default(true),
};
type AlignmentConfig = WorkerConfig & {
  licenses?: number[];
  auditIntervalMs: number;
  sampleRate: number;
  fileDisputes: boolean;
};

/** A finding the node filed (or could not file), by the statement it is about. */
interface Finding {
  provider: string;
  kind: DisputeKind;
  detail: string;
  disputeId?: string;
  error?: string;
}

const cursorKey = (provider: string) => `alignment/cursor/${provider.toLowerCase()}`;
const findingKey = (digest: string) => `alignment/finding/${digest}`;
const voteKey = (id: bigint) => `alignment/vote/${id.toString().padStart(20, "0")}`;
/** Disputes ahead whose vote words a node keeps reserved for its licenses (two words of 51). */
const RESERVE_AHEAD = 102n;
const pendingKey = (id: bigint) => `alignment/pending/${id.toString().padStart(20, "0")}`;
const livenessKey = (epoch: bigint) => `alignment/liveness/${epoch.toString().padStart(20, "0")}`;

/**
 * The alignment node (`zg node alignment`): audits providers' receipts (re-executing deterministic answers with
 * the built-in engine and running the on-chain policy on every sampled exchange), files disputes with the
 * evidence stored in the storage module, votes on every open dispute by its own checks of that evidence,
 * resolves disputes whose vote has ended, and attests liveness for its licenses each epoch. Every step is
 * recorded durably (audit cursors with what was found, disputes with the chain cursor, votes and attestations),
 * so a restart neither repeats nor skips one.
 */
export const alignmentNode: WorkerService<typeof config> = {
  config,
  requireKey: true,
  needs: "Disputes",
  async start(runtime) {
    const { chain, store, log, metrics } = runtime;
    const settings = runtime.config as AlignmentConfig;
    const client = await AlignmentClient.connect(chain);
    const licenses = settings.licenses
      ? settings.licenses.map(BigInt)
      : await client.licensesOf(chain.address as string);
    for (const license of licenses)
      if (!(await client.isAuthorized(license, chain.address as string)))
        throw new ZgError(
          `this node's key may not act for license ${license}: it is neither its holder nor its operator`,
          "BAD_CONFIG",
        );
    if (licenses.length === 0)
      throw new ZgError(
        `${chain.address} holds and operates no alignment license: it has nothing to run`,
        "BAD_CONFIG",
      );

    const checked = new Counter({
      name: "zg_alignment_receipts_checked_total",
      help: "Receipts audited",
      registers: [metrics],
    });
    const violations = new Counter({
      name: "zg_alignment_violations_total",
      help: "Violations found, by kind",
      labelNames: ["kind"],
      registers: [metrics],
    });
    const filed = new Counter({
      name: "zg_alignment_disputes_filed_total",
      help: "Disputes filed",
      registers: [metrics],
    });
    const votes = new Counter({
      name: "zg_alignment_votes_total",
      help: "Dispute votes cast, by verdict",
      labelNames: ["verdict"],
      registers: [metrics],
    });
    const attestations = new Counter({
      name: "zg_alignment_liveness_total",
      help: "Liveness attestations sent",
      registers: [metrics],
    });

    /** Audits one page of each provider's receipts after its cursor. */
    const audit = async () => {
      for (const provider of await client.providers()) {
        try {
          const after = (await store.get<string>(cursorKey(provider))) ?? undefined;
          const page = await client.serving.auditReceipts(provider, { after });
          const ops: StoreOp[] = [];
          for (const receipt of page.receipts) {
            if (Math.random() >= settings.sampleRate) continue;
            checked.inc();
            const verdict = await judge(client, receipt);
            if (!verdict.fault) continue;
            violations.inc({ kind: verdict.fault.kind });
            const digest = client.statementDigest(receipt);
            if (await store.get(findingKey(digest))) continue;
            const finding: Finding = { provider, kind: verdict.fault.kind, detail: verdict.fault.detail };
            if (settings.fileDisputes) {
              try {
                finding.disputeId = (
                  await client.fileDispute(licenses[0], verdict.fault.kind, receipt)
                ).toString();
                filed.inc();
                log.warn("filed a dispute", {
                  provider,
                  kind: finding.kind,
                  detail: finding.detail,
                  dispute: finding.disputeId,
                });
              } catch (error) {
                finding.error = firstLine(error);
                log.error("cannot file a dispute", { provider, kind: finding.kind, error: finding.error });
              }
            }
            ops.push({ type: "put", key: findingKey(digest), value: finding });
          }
          if (page.next) ops.push({ type: "put", key: cursorKey(provider), value: page.next });
          await store.batch(ops);
        } catch (error) {
          log.warn("cannot audit a provider", { provider, error: firstLine(error) });
        }
      }
    };

    /** Votes on every pending dispute by its own judgement of the evidence; resolves those whose vote ended. */
    const voteAndResolve = async () => {
      const head = BigInt(await chain.provider.getBlockNumber());
      for await (const [key, dispute] of store.entries<OpenDispute>("alignment/pending/")) {
        const id = BigInt(dispute.id);
        try {
          if (head > BigInt(dispute.votingEnds)) {
            await client.resolveIfOpen(id);
            await store.batch([{ type: "del", key }]);
            continue;
          }
          if (await store.get(voteKey(id))) continue;
          // Evidence that is not the statement filed, or not there, shows no fault.
          const evidence = await client.evidence(dispute).catch((error: unknown) => firstLine(error));
          const verdict =
            typeof evidence === "string"
              ? { fault: undefined, unattributable: evidence }
              : await judge(client, evidence, dispute);
          const score = verdict.fault ? 10 : 0;
          for (const license of licenses) await client.voteIfNot(id, license, score);
          votes.inc({ verdict: verdict.fault ? "fault" : "no-fault" });
          await store.put(voteKey(id), { score, detail: verdict.fault?.detail ?? "no fault found" });
          log.info("voted on a dispute", { dispute: dispute.id, score, detail: verdict.fault?.detail });
        } catch (error) {
          log.warn("cannot vote on a dispute yet", { dispute: dispute.id, error: firstLine(error) });
        }
      }
    };

    /**
     * Keeps its licenses' vote words reserved for the disputes it has yet to vote on and the next ones (two words
     * ahead, renewed once half is used), so that no vote of theirs pays for a fresh storage slot.
     */
    let reservedThrough = 0n;
    const reserve = async () => {
      try {
        const count = await client.disputes.disputeCount();
        if (count + RESERVE_AHEAD / 2n < reservedThrough) return;
        let from = count + 1n;
        for await (const [, dispute] of store.entries<OpenDispute>("alignment/pending/")) {
          const id = BigInt(dispute.id);
          if (id < from && !(await store.get(voteKey(id)))) from = id;
        }
        await client.reserveVotes(licenses, from, count + RESERVE_AHEAD);
        reservedThrough = count + RESERVE_AHEAD;
      } catch (error) {
        log.warn("cannot reserve vote words", { error: firstLine(error) });
      }
    };

    /** Attests liveness for its licenses once per epoch, and collects the fee share into the reward pool. */
    const attest = async () => {
      const epoch = await client.currentEpoch();
      if (await store.get(livenessKey(epoch))) return;
      try {
        await client.attestLiveness(licenses);
        attestations.inc();
        // Once an epoch, the alignment share of fees joins the pool (anyone may; nodes have the interest).
        await client
          .collectFees()
          .catch((error: unknown) =>
            log.warn("cannot collect the alignment share of fees", { error: firstLine(error) }),
          );
        await store.put(livenessKey(epoch), { at: Date.now() });
      } catch (error) {
        log.warn("cannot attest liveness", { epoch: epoch.toString(), error: firstLine(error) });
      }
    };

    const reader = new ChainReader({
      name: "alignment-disputes",
      provider: chain.provider,
      store,
      filters: [client.disputesFilter()],
      confirmations: runtime.config.confirmations,
      startBlock: runtime.startBlock,
      pollIntervalMs: runtime.config.pollIntervalMs,
      log,
    });
    let stopped = false;
    let current: Promise<void> | undefined;
    /**
     * One round: liveness first (it has a deadline), then vote-word reservations, votes and audits; never two
     * rounds at once.
     */
    const tick = () => {
      if (stopped || current) return current;
      current = (async () => {
        try {
          for (const step of [attest, reserve, voteAndResolve, audit]) {
            if (stopped) return;
            await step();
          }
        } finally {
          current = undefined;
        }
      })();
      return current;
    };
    await reader.start(async (logs: Log[]) => ({
      ops: logs.flatMap((entry) => {
        const dispute = client.parseDisputeFiled(entry);
        return dispute ? [{ type: "put" as const, key: pendingKey(BigInt(dispute.id)), value: dispute }] : [];
      }),
      afterCommit: () => void tick(),
    }));
    void tick();
    const timer = setInterval(() => void tick(), settings.auditIntervalMs);
    return {
      health: () => ({ licenses: licenses.map(String), processedBlock: reader.processedBlock }),
      stop: async () => {
        stopped = true;
        clearInterval(timer);
        await reader.stop();
        await current;
      },
    };
  },
};
