import type { Log } from "ethers";
import { Counter, Gauge } from "prom-client";
import { z } from "zod";
import { ChainReader } from "../core/chain-reader";
import { firstLine } from "../core/errors";
import type { StoreOp } from "../core/store";
import type { WorkerConfig, WorkerService } from "../core/worker";
import { DAClient } from "./client";

const config = {
  /** Random cells checked per blob of every attested payload (confidence 1 − 2^−samples per blob). */
  samples: z.number().int().min(1).max(128).default(16),
  /** Whether a signer that cannot serve a cell it holds by custody is challenged on-chain. */
  challenge: z.boolean().default(true),
  /**
   * How often a payload is sampled again while it can still be challenged: a signer that loses data after it
   * signed is caught within this time.
   */
  resampleEveryMs: z.number().int().min(100).max(86_400_000).default(600_000),
};
type SamplerConfig = WorkerConfig & { samples: number; challenge: boolean; resampleEveryMs: number };

/** What the sampler keeps of a payload it sampled. */
interface SampledRecord {
  confidence: number;
  verified: number;
  failures: number;
  challenged: string[];
}

/** A challenge the sampler filed, until it is answered or slashed. */
interface FiledChallenge {
  id: string;
  signer: string;
  deadline: number;
}

/** A payload the sampler watches: sampled again every `resampleEveryMs` until its challenge window closes. */
interface Watched {
  /** The last block a signer can be challenged for it. */
  until: number;
  /** When it is next sampled (unix ms). */
  next: number;
}

const watchKey = (id: string) => `sampler/watch/${id}`;
const sampledKey = (id: string) => `sampler/sampled/${id}`;
const filedKey = (id: string, signer: string) => `sampler/filed/${id}/${signer.toLowerCase()}`;
const strikeKey = (id: string, signer: string) => `sampler/strike/${id}/${signer.toLowerCase()}`;

/**
 * The sampler (`zg node sampler`): samples every attested payload as a light client would (`DAClient.sample`),
 * and again every `resampleEveryMs` while it can be challenged; challenges each signer that could not serve a
 * cell it holds by custody in two sampling rounds (once per payload and signer), and once a challenge's window has closed unanswered,
 * has the signer slashed (the challenger's bond comes back with the reporter's share). Attested payloads are
 * recorded durably with the chain cursor, so a restart goes on watching them.
 */
export const sampler: WorkerService<typeof config> = {
  config,
  requireKey: true,
  needs: "DAEntrance",
  async start(runtime) {
    const { chain, store, log, metrics } = runtime;
    const settings = runtime.config as SamplerConfig;
    const client = await DAClient.connect(chain);
    const samplesTotal = new Counter({
      name: "zg_da_samples_total",
      help: "Cells sampled and verified",
      registers: [metrics],
    });
    const failuresTotal = new Counter({
      name: "zg_da_sample_failures_total",
      help: "Cells a signer holding them by custody could not serve verified",
      registers: [metrics],
    });
    const confidence = new Gauge({
      name: "zg_da_confidence",
      help: "Confidence reached for the last payload sampled (least over its blobs)",
      registers: [metrics],
    });
    const filed = new Counter({
      name: "zg_da_challenges_filed_total",
      help: "Availability challenges filed",
      registers: [metrics],
    });
    const slashed = new Counter({
      name: "zg_da_challenges_slashed_total",
      help: "Filed challenges left unanswered and slashed",
      registers: [metrics],
    });
    let last: { id: string; confidence: number } | undefined;

    const sampleOne = async (id: string) => {
      const info = await client.payload(id);
      const report = await client.sample(id, { samples: settings.samples, info });
      const verified = report.verified.reduce((sum, cells) => sum + cells.length, 0);
      samplesTotal.inc(verified);
      failuresTotal.inc(report.failures.length);
      confidence.set(report.confidence);
      last = { id, confidence: report.confidence };
      const challenged: string[] = [];
      if (settings.challenge) {
        const faulty = new Map(report.failures.map((f) => [f.signer.operator.toLowerCase(), f]));
        for (const failure of faulty.values()) {
          const signer = failure.signer.operator;
          if (await store.get(filedKey(id, signer))) continue;
          // A first failure is a strike, forgiven if it stays the only one (a node restarting); a failure in a
          // later round as well is a challenge, since the challenger's bond is lost if the signer answers.
          if (!(await store.get(strikeKey(id, signer)))) {
            await store.put(strikeKey(id, signer), {
              at: Date.now(),
              cell: failure.cell,
              reason: failure.reason,
            });
            log.info("a signer could not serve a cell it holds: challenged if it fails again", {
              payload: id,
              signer,
              blob: failure.blob,
              cell: failure.cell,
              reason: failure.reason,
            });
            continue;
          }
          try {
            const deadline = await client.challenge(info, failure.blob, failure.signer.index);
            await store.put(filedKey(id, signer), { id, signer, deadline } satisfies FiledChallenge);
            filed.inc();
            challenged.push(signer);
            log.warn("challenged a signer that could not serve a cell it holds", {
              payload: id,
              signer,
              blob: failure.blob,
              cell: failure.cell,
              reason: failure.reason,
            });
          } catch (error) {
            log.error("cannot challenge a signer", { payload: id, signer, error: firstLine(error) });
          }
        }
      }
      log.info("sampled a payload", {
        payload: id,
        confidence: report.confidence,
        failures: report.failures.length,
      });
      await store.batch([
        {
          type: "put",
          key: sampledKey(id),
          value: {
            confidence: report.confidence,
            verified,
            failures: report.failures.length,
            challenged,
          } satisfies SampledRecord,
        },
      ]);
    };

    /** Slashes the signers of filed challenges whose window closed unanswered; forgets answered ones. */
    const settle = async () => {
      const head = await chain.provider.getBlockNumber();
      for await (const [storedKey, challenge] of store.entries<FiledChallenge>("sampler/filed/")) {
        if (head <= challenge.deadline) continue;
        try {
          const outcome = await client.settleChallenge(challenge.id, challenge.signer);
          if (outcome === "slashed") slashed.inc();
          log.info("an availability challenge ended", {
            payload: challenge.id,
            signer: challenge.signer,
            outcome,
          });
          await store.batch([{ type: "del", key: storedKey }]);
        } catch (error) {
          log.error("cannot settle an availability challenge", {
            payload: challenge.id,
            error: firstLine(error),
          });
        }
      }
    };

    let working: Promise<void> | undefined;
    /** One round over the watched payloads and the filed challenges; never two rounds at once. */
    const work = () => {
      working ??= (async () => {
        const head = await chain.provider.getBlockNumber();
        for await (const [storedKey, watched] of store.entries<Watched>("sampler/watch/")) {
          const id = storedKey.slice("sampler/watch/".length);
          if (head > watched.until) {
            await store.batch([{ type: "del", key: storedKey }]);
            continue;
          }
          if (watched.next > Date.now()) continue;
          try {
            await sampleOne(id);
          } catch (error) {
            log.error("cannot sample a payload", { payload: id, error: firstLine(error) });
          }
          await store.put(storedKey, {
            ...watched,
            next: Date.now() + settings.resampleEveryMs,
          } satisfies Watched);
        }
        await settle();
      })()
        .catch((error: unknown) => log.error("a sampling round failed", { error: firstLine(error) }))
        .finally(() => {
          working = undefined;
        });
      return working;
    };

    const challengeWindow = Number((await client.entrance.params()).challengeWindow);
    const attested = client.entrance.interface.getEvent("Attested");
    const reader = new ChainReader({
      name: "da-sampler",
      provider: chain.provider,
      store,
      filters: [{ address: await client.entrance.getAddress(), topics: [attested.topicHash] }],
      confirmations: runtime.config.confirmations,
      startBlock: runtime.startBlock,
      pollIntervalMs: runtime.config.pollIntervalMs,
      log,
    });
    void work();
    await reader.start(async (logs: Log[]) => {
      const ops: StoreOp[] = logs.flatMap((entry) => {
        const parsed = client.entrance.interface.parseLog(entry);
        if (!parsed) return [];
        const watched: Watched = { until: entry.blockNumber + challengeWindow, next: 0 };
        return [
          { type: "put" as const, key: watchKey((parsed.args.id as string).toLowerCase()), value: watched },
        ];
      });
      return { ops, afterCommit: () => void work() };
    });
    const timer = setInterval(() => void work(), Math.min(settings.resampleEveryMs, 5000));

    return {
      health: () => ({
        samples: settings.samples,
        processedBlock: reader.processedBlock,
        last: last ?? null,
      }),
      stop: async () => {
        clearInterval(timer);
        await reader.stop();
        await working;
      },
    };
  },
};
