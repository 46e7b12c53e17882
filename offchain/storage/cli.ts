import path from "node:path";
import type { Command } from "commander";
import { action, connect, withChain } from "../core/cli/command";
import type { GlobalOptions } from "../core/cli/context";
import { zgHome } from "../core/paths";

/** What the progress bar calls each phase of an upload or download. */
const PHASES: Record<string, string> = {
  hash: "hashing",
  submit: "submitting",
  upload: "uploading",
  parity: "uploading parity",
  finalize: "waiting for the nodes",
  download: "downloading",
  repair: "rebuilding from parity",
};

/** "12.3 s (hash 1.2 s, submit 0.4 s, …)": the elapsed time and each phase's, from milliseconds. */
function phaseLine(phases: { elapsed: number }): string {
  const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  const parts = Object.entries(phases as Record<string, number>)
    .filter(([name]) => name !== "elapsed")
    .map(([name, ms]) => `${name} ${seconds(ms)}`);
  return `${seconds(phases.elapsed)} (${parts.join(", ")})`;
}

/** `zg storage`: roots, uploads, downloads, file info and the storage-proof game. */
export function registerStorageCommands(program: Command): void {
  const storage = program.command("storage").description("0G-compatible storage: roots, uploads, downloads");

  async function withStorage(
    options: GlobalOptions,
    requireKey: boolean,
    body: (client: StorageContext) => Promise<void>,
  ) {
    const { StorageClient } = await import("./client");
    await withChain(options, requireKey, async (chain) =>
      body({
        chain,
        storage: await StorageClient.connect(chain, { directoryCache: path.join(zgHome(), "storage-nodes") }),
      }),
    );
  }
  type StorageContext = {
    chain: Awaited<ReturnType<typeof connect>>;
    storage: Awaited<ReturnType<typeof import("./client").StorageClient.connect>>;
  };

  storage
    .command("root <file>")
    .description("print the file's 0G-compatible Merkle root (no chain needed)")
    .action(
      action(async (options, file: string) => {
        const { computeFileMerkle } = await import("./merkle");
        const { printResult } = await import("../core/cli/output");
        const { requireFile } = await import("../core/cli/inputs");
        const merkle = await computeFileMerkle(requireFile(file));
        printResult(
          Boolean(options.json),
          { root: merkle.root, size: merkle.size, submission: merkle.submission },
          () => merkle.root,
        );
      }),
    );

  storage
    .command("upload <file>")
    .description("submit a file to the storage log and upload it to the storage nodes")
    .option("--replicas <n>", "complete copies to place", "1")
    .option("--ec <k+m>", "add Reed-Solomon parity on other nodes, e.g. 4+2")
    .option("--region <code>", "use only nodes of this region")
    .action(
      action(async (options, file: string) => {
        const { parseCode } = await import("./erasure");
        const { parseCount, requireFile } = await import("../core/cli/inputs");
        const { printResult, table } = await import("../core/cli/output");
        const { progressBar } = await import("../core/cli/progress");
        const opts = options as GlobalOptions & { replicas: string; ec?: string; region?: string };
        const path = requireFile(file);
        const replicas = parseCount(opts.replicas, "--replicas");
        const ec = opts.ec === undefined ? undefined : parseCode(opts.ec);
        await withStorage(options, true, async ({ storage: client }) => {
          const bar = progressBar(Boolean(options.json), PHASES);
          const result = await client
            .upload(path, { replicas, ec, region: opts.region, onProgress: bar.update })
            .finally(bar.done);
          printResult(Boolean(options.json), result, () =>
            table([
              ["root", result.root],
              ["txSeq", String(result.txSeq)],
              ["size", `${result.size} bytes`],
              ["paid", result.submitted ? "yes" : "no (already on the log: resumed)"],
              ["time", phaseLine(result.phases)],
              ...(result.parity
                ? ([
                    [
                      "parity",
                      `${result.parity.root} (txSeq ${result.parity.txSeq}, ${result.parity.code.k}+${result.parity.code.m})`,
                    ],
                  ] as [string, string][])
                : []),
            ]),
          );
        });
      }),
    );

  storage
    .command("download <root> <out>")
    .description("download a file, verifying every segment; rebuilds lost segments from parity")
    .action(
      action(async (options, root: string, out: string) => {
        const { parseHash, requireNewFile } = await import("../core/cli/inputs");
        const { printResult } = await import("../core/cli/output");
        const { progressBar } = await import("../core/cli/progress");
        const hash = parseHash(root, "root");
        requireNewFile(out);
        await withStorage(options, false, async ({ storage: client }) => {
          const bar = progressBar(Boolean(options.json), PHASES);
          const result = await client.download(hash, out, bar.update).finally(bar.done);
          printResult(
            Boolean(options.json),
            { root: hash, out, ...result },
            () =>
              `downloaded ${result.size} bytes to ${out}${result.repaired ? ` (${result.repaired} segment(s) rebuilt from parity)` : ""} in ${phaseLine(result.phases)}; every segment verified`,
          );
        });
      }),
    );

  storage
    .command("nodes")
    .description("the active storage nodes: URL, shard and region (from NodeStaking)")
    .option("--region <code>", "only nodes announcing this region")
    .action(
      action(async (options) => {
        const { regionBytes } = await import("../staking/client");
        const { printResult } = await import("../core/cli/output");
        const opts = options as GlobalOptions & { region?: string };
        if (opts.region !== undefined) regionBytes(opts.region); // longer than 32 bytes: a one-line error
        await withStorage(options, false, async ({ storage: client }) => {
          const nodes = (await client.nodes(opts.region)).sort(
            (a, b) =>
              a.shard.numShard - b.shard.numShard ||
              a.shard.shardId - b.shard.shardId ||
              a.url.localeCompare(b.url),
          );
          const where = opts.region === undefined ? "" : ` in region '${opts.region}'`;
          printResult(Boolean(options.json), nodes, () => {
            if (nodes.length === 0) return `no active storage nodes${where}`;
            const rows = [
              ["url", "shard", "region", "operator"],
              ...nodes.map((node) => [
                node.url,
                `${node.shard.shardId}/${node.shard.numShard}`,
                node.region || "-",
                node.operator,
              ]),
            ];
            const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => row[c].length)));
            return rows
              .map((row) =>
                row
                  .map((cell, c) => cell.padEnd(widths[c]))
                  .join("  ")
                  .trimEnd(),
              )
              .join("\n");
          });
        });
      }),
    );

  storage
    .command("info <root>")
    .description("a file's log entry, the nodes that hold it, and its parity")
    .action(
      action(async (options, root: string) => {
        const { parseHash } = await import("../core/cli/inputs");
        const { printResult, table } = await import("../core/cli/output");
        const { ZgError } = await import("../core/errors");
        const hash = parseHash(root, "root");
        await withStorage(options, false, async ({ storage: client }) => {
          const found = await client.info(hash);
          if (!found) throw new ZgError(`no storage node knows a file with root ${hash}`, "NOT_FOUND");
          printResult(Boolean(options.json), found, () =>
            table([
              ["root", hash],
              ["txSeq", String(found.info.tx.seq)],
              ["size", `${found.info.tx.size} bytes`],
              ["log position", `sector ${found.info.tx.startEntryIndex}`],
              ...found.nodes.map(
                (node) =>
                  ["node", `${node.url} ${node.finalized ? "complete" : "incomplete"}`] as [string, string],
              ),
              ...found.parity.map(
                (p) => ["parity", `${p.root} (txSeq ${p.txSeq}, ${p.k}+${p.m})`] as [string, string],
              ),
            ]),
          );
        });
      }),
    );

  storage
    .command("challenges")
    .description("a storage node's recent challenges (open, answered, missed) and claimable rewards")
    .option("--node <address>", "the node's operator address (default: the configured key's)")
    .option("--epochs <n>", "how many recent epochs", "10")
    .action(
      action(async (options) => {
        const { parseAddress, parseCount } = await import("../core/cli/inputs");
        const { ChallengesClient } = await import("./challenges");
        const { ZgError } = await import("../core/errors");
        const { formatEther } = await import("ethers");
        const { printResult } = await import("../core/cli/output");
        const opts = options as GlobalOptions & { node?: string; epochs: string };
        const given = opts.node === undefined ? undefined : parseAddress(opts.node, "node");
        const count = parseCount(opts.epochs, "--epochs");
        const chain = await connect(options);
        try {
          const node = given ?? chain.address;
          if (!node)
            throw new ZgError("pass --node <address>, or a key (--key / --private-key)", "BAD_INPUT");
          const status = await (await ChallengesClient.connect(chain)).status(node, count);
          printResult(Boolean(options.json), status, () =>
            [
              `node ${status.node}: ${status.declared.length} declared file(s), epoch ${status.currentEpoch}, ${formatEther(status.claimable)} claimable`,
              ...status.epochs.map((e) =>
                e.state === "none"
                  ? `  epoch ${e.epoch}: ${e.reason}`
                  : `  epoch ${e.epoch}: ${e.state.padEnd(8)} ${e.dataRoot} sector ${e.sectorIndex} (deadline block ${e.deadline})`,
              ),
            ].join("\n"),
          );
        } finally {
          chain.destroy();
        }
      }),
    );

  storage
    .command("slash-missed <node> <epoch>")
    .description(
      "report a storage node that missed its challenge: it is slashed and you earn the reporter share",
    )
    .action(
      action(async (options, nodeArg: string, epochArg: string) => {
        const { parseAddress, parseIndex } = await import("../core/cli/inputs");
        const { ChallengesClient } = await import("./challenges");
        const { printResult } = await import("../core/cli/output");
        const node = parseAddress(nodeArg, "node");
        const epoch = parseIndex(epochArg, "epoch");
        const chain = await connect(options, true);
        try {
          const receipt = await (await ChallengesClient.connect(chain)).slashMissed(node, epoch);
          printResult(
            Boolean(options.json),
            { node, epoch, tx: receipt.hash },
            () =>
              `slashed ${node} for epoch ${epoch} (tx ${receipt.hash}); claim your reporter share with NodeStaking.claim`,
          );
        } finally {
          chain.destroy();
        }
      }),
    );
}
