import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { DurableStore } from "../offchain/core/store";
import { builtinEngineBench } from "./builtin-engine";
import { erasureBench } from "./erasure";
import { merkleBench } from "./merkle";
import type { Figure } from "./figure";

interface Benchmark {
  name: string;
  description: string;
  run(): Promise<Figure[]>;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

const BENCHMARKS: Benchmark[] = [
  {
    name: "erasure",
    description: "Reed-Solomon 4+2 encode, and decode with 2 data shards lost, over 64 MiB",
    run: erasureBench,
  },
  {
    name: "storage-gas",
    description:
      "gas of Flow.submit for 1, 2 and 4 nodes, young log and 2^32-sector log (0G's figures as quoted in the issue)",
    run: async () => (await import("./storage-gas")).submitGas(),
  },
  {
    name: "challenge-gas",
    description:
      "gas of one storage-challenge answer at tree depths 10, 20 and 30 (target: at most 70,000 at depth 30)",
    run: async () => (await import("./challenge-gas")).answerGas(),
  },
  {
    name: "inft-gas",
    description:
      "gas of AgentNFT mint, iTransferFrom and iCloneFrom with 1 and 3 entries, next to a plain ERC-721 transferFrom (0G's figures as quoted)",
    run: async () => (await import("./inft-gas")).inftGas(),
  },
  {
    name: "serving-gas",
    description:
      "InferenceServing.settle gas per user voucher and per request (100 a voucher), batches of 1, 10 and 100 users, steady state and first settlement (target: at most 40,000 a user at 100 users)",
    run: async () => (await import("./serving-gas")).settleGas(),
  },
  {
    name: "storage",
    description:
      "upload and verified download of 1 MiB, 64 MiB and 1 GiB through the devnet's six storage nodes, without and with 4+2 parity, by `zg storage` client processes (MB/s, phases, peak RSS), beside the official 0G TS SDK in the same run (goals: 60 MB/s up, 120 MB/s down at 64 MiB, 2x the SDK's download, parity under 25 %, 300 MB)",
    run: async () => (await import("./storage-e2e")).storageThroughput(),
  },
  {
    name: "da",
    description:
      "DA: attestation gas at 4, 32 and 100 signers (all, and 10% not signing), challenge answer gas, blob encoding with cell proofs on one core and on all, recovery, cell verification, and end to end on a devnet (4 MiB submit MB/s, one-blob attestation latency, sampling rate)",
    run: async () => [
      ...(await (await import("./da-gas")).daGas()),
      ...(await (await import("./da-encode")).daEncodeBench()),
      ...(await (await import("./da-e2e")).daEndToEnd()),
    ],
  },
  {
    name: "alignment",
    description:
      "alignment gas: propose, castVote, queue and execute (overhead over a direct call), a license transfer next to a plain ERC-721 transfer, fileDispute, dispute votes, resolve, liveness attestation and reward claims (goals: castVote at most 80,000, propose at most 150,000, a dispute vote at most 60,000)",
    run: async () => [
      ...(await (await import("./alignment-gas")).governanceGas()),
      ...(await (await import("./alignment-disputes-gas")).disputesGas()),
    ],
  },
  {
    name: "merkle",
    description:
      "0G file root of a 256 MiB file, ours vs the official SDK's ZgFile.merkleTree() in the same run",
    run: merkleBench,
  },
  {
    name: "oracle",
    description:
      "inference oracle overhead per request apart from the engine (p50, p99; target p50 < 2 ms) and requests per second",
    run: async () => (await import("./oracle")).oracleBench(),
  },
  {
    name: "builtin-engine",
    description:
      "built-in inference engine: base model training, first completion (index build), p50/p99 latency of 64-token completions",
    run: builtinEngineBench,
  },
  {
    name: "devnet",
    description:
      "`npm start` without the demo: seconds until the devnet is ready and the resident memory of all its processes (goal: 15 s, 1 GiB)",
    run: async () => (await import("./devnet")).devnetStartup(),
  },
  {
    name: "abuse",
    description:
      "a devnet's storage node and oracle under a batch flood, a request flood and slowloris from another client: honest p99 latency (goal at most 2× quiet) and memory",
    run: async () => (await import("./abuse")).abuseBench(),
  },
  {
    name: "trace",
    description:
      "`zg trace` of an agent with 1,000 events against a full devnet, a fresh CLI process, without and with the cache (goal: at most 2 s)",
    run: async () => (await import("./trace")).traceBench(),
  },
  {
    name: "cli-help",
    description: "wall time of `zg --help` (a fresh Node process), median of 15",
    async run() {
      const times: number[] = [];
      for (let i = 0; i < 15; i++) {
        const start = process.hrtime.bigint();
        execFileSync(process.execPath, [path.join(__dirname, "..", "bin", "zg.js"), "--help"], {
          stdio: "ignore",
        });
        times.push(Number(process.hrtime.bigint() - start) / 1e6);
      }
      const bare: number[] = [];
      for (let i = 0; i < 15; i++) {
        const start = process.hrtime.bigint();
        execFileSync(process.execPath, ["-e", ""], { stdio: "ignore" });
        bare.push(Number(process.hrtime.bigint() - start) / 1e6);
      }
      return [
        {
          name: "cli-help",
          value: round(median(times)),
          unit: "ms",
          anchor: { name: "node -e '' (bare Node start-up)", value: round(median(bare)), unit: "ms" },
        },
      ];
    },
  },
  {
    name: "store-put",
    description: "durable (fsync'd) single-key writes and 100-op batches of the worker store",
    async run() {
      const dir = mkdtempSync(path.join(tmpdir(), "zg-bench-store-"));
      const store = await DurableStore.open(dir);
      try {
        const value = { bonded: 10n ** 19n, member: true, endpoint: "http://127.0.0.1:5678" };
        const count = 500;
        let start = process.hrtime.bigint();
        for (let i = 0; i < count; i++) await store.put(`key/${i}`, value);
        const putsPerSecond = count / (Number(process.hrtime.bigint() - start) / 1e9);
        start = process.hrtime.bigint();
        for (let b = 0; b < 50; b++) {
          await store.batch(
            Array.from({ length: 100 }, (_, i) => ({ type: "put" as const, key: `batch/${b}/${i}`, value })),
          );
        }
        const batchedPerSecond = 5000 / (Number(process.hrtime.bigint() - start) / 1e9);
        return [
          { name: "store-put-durable", value: Math.round(putsPerSecond), unit: "writes/s" },
          { name: "store-batch-durable", value: Math.round(batchedPerSecond), unit: "writes/s" },
        ];
      } finally {
        await store.close();
        rmSync(dir, { recursive: true, force: true });
      }
    },
  },
];

function round(value: number): number {
  return Math.round(value * 10) / 10;
}

/** Runs all benchmarks, or the one named, and merges the figures into bench/results.json and RESULTS.md. */
async function main(): Promise<void> {
  const only = process.argv[2];
  const selected = only ? BENCHMARKS.filter((b) => b.name === only) : BENCHMARKS;
  if (selected.length === 0) {
    throw new Error(`unknown benchmark '${only}' (benchmarks: ${BENCHMARKS.map((b) => b.name).join(", ")})`);
  }
  const file = path.join(__dirname, "results.json");
  let results: Figure[] = [];
  try {
    results = JSON.parse(readFileSync(file, "utf8")) as Figure[];
  } catch {
    results = [];
  }
  for (const benchmark of selected) {
    process.stdout.write(`running ${benchmark.name}: ${benchmark.description}\n`);
    for (const result of await benchmark.run()) {
      results = results.filter((r) => r.name !== result.name).concat(result);
      const anchor = result.anchor
        ? `  (anchor: ${result.anchor.name} ${result.anchor.value} ${result.anchor.unit})`
        : "";
      process.stdout.write(`  ${result.name}: ${result.value} ${result.unit}${anchor}\n`);
    }
  }
  results.sort((a, b) => a.name.localeCompare(b.name));
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  const rows = results.map(
    (r) =>
      `| ${r.name} | ${r.value} ${r.unit} | ${r.anchor ? `${r.anchor.name}: ${r.anchor.value} ${r.anchor.unit}` : "-"} |`,
  );
  const table = ["| benchmark | value | anchor (same run) |", "| --- | --- | --- |", ...rows].join("\n");
  writeFileSync(
    path.join(__dirname, "RESULTS.md"),
    `# Benchmark results\n\nMeasured with \`npm run bench\` on the project machine (2 cores). Anchors are measured in the same run.\n\n${table}\n`,
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`bench: ${(error as Error).message}\n`);
  process.exitCode = 1;
});
