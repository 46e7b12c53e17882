import { Command, Option } from "commander";
import { readFileSync } from "node:fs";
import path from "node:path";
import { packageRoot } from "../core/paths";
import type { RoleName } from "../core/roles";
import { action, connect } from "./command";
import type { GlobalOptions } from "./context";
import { registerInftCommands } from "./inft";
import { registerServingCommands } from "./serving";

// Only commander loads at start-up: every command imports what it needs when it runs, so `zg --help`
// answers at once.

const program = new Command("zg")
  .description("zerog-stack: the 0G modular AI stack on any EVM chain")
  .version(packageVersion())
  .option("--network <name>", "named network: localhost (default) or galileo")
  .option("--rpc <url>", "JSON-RPC URL of any EVM chain (overrides the network's)")
  .option("--registry <address>", "ModuleRegistry address (default: the deployment record of the chain)")
  .option("--key <keystore>", "sign with this keystore (a name from 'zg keys list', or a path)")
  .option("--private-key <hex>", "sign with a raw private key (devnet only; prefer --key)")
  .option("--password-file <file>", "file holding the keystore password (else ZG_PASSWORD, else a prompt)")
  .option("--config <file>", "config file (default: ./zg.config.json when present; a worker's for 'zg node')")
  .option("--json", "print machine-readable JSON")
  .showHelpAfterError("(run 'zg --help' for usage)");

function packageVersion(): string {
  return (JSON.parse(readFileSync(path.join(packageRoot(), "package.json"), "utf8")) as { version: string })
    .version;
}

// ─── keys ──────────────────────────────────────────────────────────────────────────────────────────
const keys = program.command("keys").description("encrypted JSON keystores in ~/.zg/keys (ZG_HOME)");

keys
  .command("new <name>")
  .description("create a new key and store it encrypted")
  .action(
    action(async (options, name: string) => {
      const { createKey, readPassword } = await import("../core/keys");
      const { printResult } = await import("./output");
      const password = await readPassword(options.passwordFile, `new password for ${name}: `);
      const info = await createKey(name, password);
      printResult(
        Boolean(options.json),
        info,
        () => `created key ${info.name}\naddress  ${info.address}\nfile     ${info.path}`,
      );
    }),
  );

keys
  .command("import <name>")
  .description("store an existing private key encrypted")
  .requiredOption("--private-key-file <file>", "file holding the hex private key")
  .action(
    action(async (options, name: string) => {
      const { readFileSync, existsSync } = await import("node:fs");
      const { importKey, readPassword } = await import("../core/keys");
      const { ZgError } = await import("../core/errors");
      const { printResult } = await import("./output");
      const keyFile = (options as GlobalOptions & { privateKeyFile: string }).privateKeyFile;
      if (!existsSync(keyFile)) throw new ZgError(`private key file ${keyFile} does not exist`, "BAD_INPUT");
      const password = await readPassword(options.passwordFile, `new password for ${name}: `);
      const info = await importKey(name, readFileSync(keyFile, "utf8").trim(), password);
      printResult(
        Boolean(options.json),
        info,
        () => `imported key ${info.name}\naddress  ${info.address}\nfile     ${info.path}`,
      );
    }),
  );

keys
  .command("list")
  .description("list stored keys (no password needed)")
  .action(
    action(async (options) => {
      const { listKeys } = await import("../core/keys");
      const { printResult } = await import("./output");
      const all = listKeys();
      printResult(Boolean(options.json), all, () =>
        all.length === 0
          ? "no keys yet: create one with 'zg keys new <name>'"
          : all.map((k) => `${k.name.padEnd(20)} ${k.address}`).join("\n"),
      );
    }),
  );

// ─── modules ───────────────────────────────────────────────────────────────────────────────────────
program
  .command("modules")
  .description("list the modules deployed on the chain, with addresses and versions")
  .action(
    action(async (options) => {
      const { printResult } = await import("./output");
      const chain = await connect(options);
      try {
        const modules = await chain.modules();
        const owner = await chain.registry.owner();
        const result = {
          chainId: chain.chainId,
          network: chain.network,
          registry: chain.registryAddress,
          governance: owner,
          modules,
        };
        printResult(Boolean(options.json), result, () =>
          [
            `chain ${chain.chainId} (${chain.network})  registry ${chain.registryAddress}  governance ${owner}`,
            ...(modules.length === 0
              ? ["no modules deployed"]
              : modules.map((m) => `${m.name.padEnd(20)} ${m.address}  v${m.version}`)),
          ].join("\n"),
        );
      } finally {
        chain.destroy();
      }
    }),
  );

// ─── stake ─────────────────────────────────────────────────────────────────────────────────────────
const stake = program.command("stake").description("operator stake in NodeStaking");
const roleOption = () =>
  new Option("--role <role>", "STORAGE, DA_SIGNER, PROVIDER, ORACLE or ALIGNMENT").makeOptionMandatory();

async function withStaking(
  options: GlobalOptions,
  requireKey: boolean,
  body: (ctx: StakingContext) => Promise<void>,
) {
  const { StakingClient } = await import("../staking/client");
  const chain = await connect(options, requireKey);
  try {
    await body({ chain, staking: await StakingClient.connect(chain) });
  } finally {
    chain.destroy();
  }
}
type StakingContext = {
  chain: Awaited<ReturnType<typeof connect>>;
  staking: Awaited<ReturnType<typeof import("../staking/client").StakingClient.connect>>;
};

async function printStatus(options: GlobalOptions, ctx: StakingContext, operator: string, role: RoleName) {
  const { formatEther } = await import("ethers");
  const { printResult, table } = await import("./output");
  const status = await ctx.staking.status(operator, role);
  const when = (seconds: number) => (seconds === 0 ? "-" : new Date(seconds * 1000).toISOString());
  printResult(Boolean(options.json), { mode: ctx.staking.mode, ...status }, () =>
    table([
      ["operator", status.operator],
      ["role", `${status.role} (${status.active ? "active" : "inactive"}, ${ctx.staking.mode} mode)`],
      ["member", String(status.member)],
      ["bonded", formatEther(status.bonded)],
      [
        "unbonding",
        `${formatEther(status.unbonding)}${status.unbonding > 0n ? ` until ${when(status.unbondingReleaseAt)}` : ""}`,
      ],
      ["jailed until", when(status.jailedUntil)],
      ["endpoint", status.endpoint || "-"],
      ["region", status.region || "-"],
    ]),
  );
}

stake
  .command("deposit")
  .description("bond coin for a role (no-token deployments: join the role, no amount)")
  .addOption(roleOption())
  .option("--amount <coin>", "amount of coin to bond, e.g. 10 or 0.5")
  .action(
    action(async (options) => {
      const { parseAmount, parseRole } = await import("./inputs");
      const { role, amount } = options as GlobalOptions & { role: string; amount?: string };
      const roleName = parseRole(role);
      const wei = amount === undefined ? 0n : parseAmount(amount);
      await withStaking(options, true, async (ctx) => {
        if (ctx.staking.mode === "native" && amount === undefined) {
          const { ZgError } = await import("../core/errors");
          throw new ZgError("--amount is required: this deployment bonds coin", "BAD_INPUT");
        }
        await ctx.staking.deposit(roleName, wei);
        await printStatus(options, ctx, ctx.chain.address!, roleName);
      });
    }),
  );

stake
  .command("unbond")
  .description("start unbonding part of a bond; --all leaves the role")
  .addOption(roleOption())
  .option("--amount <coin>", "amount of coin to unbond")
  .option("--all", "unbond everything and leave the role")
  .action(
    action(async (options) => {
      const { parseAmount, parseRole } = await import("./inputs");
      const { ZgError } = await import("../core/errors");
      const { role, amount, all } = options as GlobalOptions & {
        role: string;
        amount?: string;
        all?: boolean;
      };
      const roleName = parseRole(role);
      if (Boolean(all) === (amount !== undefined))
        throw new ZgError("give either --amount <coin> or --all", "BAD_INPUT");
      const wei = amount === undefined ? 0n : parseAmount(amount);
      await withStaking(options, true, async (ctx) => {
        if (all) await ctx.staking.exit(roleName);
        else await ctx.staking.unbond(roleName, wei);
        await printStatus(options, ctx, ctx.chain.address!, roleName);
      });
    }),
  );

stake
  .command("withdraw")
  .description("pay out coin whose unbonding delay has passed")
  .addOption(roleOption())
  .action(
    action(async (options) => {
      const { parseRole } = await import("./inputs");
      const roleName = parseRole((options as GlobalOptions & { role: string }).role);
      await withStaking(options, true, async (ctx) => {
        await ctx.staking.withdraw(roleName);
        await printStatus(options, ctx, ctx.chain.address!, roleName);
      });
    }),
  );

stake
  .command("announce")
  .description("publish your node's endpoint and region for a role (clients discover nodes from it)")
  .addOption(roleOption())
  .requiredOption("--endpoint <url>", "public URL of the node's API")
  .option("--region <code>", "region code, e.g. eu (data-residency rules)")
  .action(
    action(async (options) => {
      const { parseRole, parseEndpoint } = await import("./inputs");
      const { role, endpoint, region } = options as GlobalOptions & {
        role: string;
        endpoint: string;
        region?: string;
      };
      const roleName = parseRole(role);
      const url = parseEndpoint(endpoint);
      await withStaking(options, true, async (ctx) => {
        await ctx.staking.announce(roleName, { endpoint: url, region });
        await printStatus(options, ctx, ctx.chain.address!, roleName);
      });
    }),
  );

stake
  .command("status")
  .description("an operator's position in a role")
  .addOption(roleOption())
  .option("--operator <address>", "operator address (default: the configured key's)")
  .action(
    action(async (options) => {
      const { parseAddress, parseRole } = await import("./inputs");
      const { ZgError } = await import("../core/errors");
      const { role, operator } = options as GlobalOptions & { role: string; operator?: string };
      const roleName = parseRole(role);
      const given = operator === undefined ? undefined : parseAddress(operator, "operator");
      await withStaking(options, false, async (ctx) => {
        const who = given ?? ctx.chain.address;
        if (!who)
          throw new ZgError("pass --operator <address>, or a key (--key / --private-key)", "BAD_INPUT");
        await printStatus(options, ctx, who, roleName);
      });
    }),
  );

// ─── storage ───────────────────────────────────────────────────────────────────────────────────────
const storage = program.command("storage").description("0G-compatible storage: roots, uploads, downloads");

async function withStorage(
  options: GlobalOptions,
  requireKey: boolean,
  body: (client: StorageContext) => Promise<void>,
) {
  const { StorageClient } = await import("../storage/client");
  const chain = await connect(options, requireKey);
  try {
    await body({ chain, storage: await StorageClient.connect(chain) });
  } finally {
    chain.destroy();
  }
}
type StorageContext = {
  chain: Awaited<ReturnType<typeof connect>>;
  storage: Awaited<ReturnType<typeof import("../storage/client").StorageClient.connect>>;
};

storage
  .command("root <file>")
  .description("print the file's 0G-compatible Merkle root (no chain needed)")
  .action(
    action(async (options, file: string) => {
      const { computeFileMerkle } = await import("../storage/merkle");
      const { printResult } = await import("./output");
      const { requireFile } = await import("./inputs");
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
      const { parseCode } = await import("../storage/erasure");
      const { parseCount, requireFile } = await import("./inputs");
      const { printResult, table } = await import("./output");
      const { progressBar } = await import("./progress");
      const opts = options as GlobalOptions & { replicas: string; ec?: string; region?: string };
      const path = requireFile(file);
      const replicas = parseCount(opts.replicas, "--replicas");
      const ec = opts.ec === undefined ? undefined : parseCode(opts.ec);
      await withStorage(options, true, async ({ storage: client }) => {
        const bar = progressBar(Boolean(options.json));
        const result = await client
          .upload(path, { replicas, ec, region: opts.region, onProgress: bar.update })
          .finally(bar.done);
        printResult(Boolean(options.json), result, () =>
          table([
            ["root", result.root],
            ["txSeq", String(result.txSeq)],
            ["size", `${result.size} bytes`],
            ["paid", result.submitted ? "yes" : "no (already on the log: resumed)"],
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
      const { parseHash, requireNewFile } = await import("./inputs");
      const { printResult } = await import("./output");
      const { progressBar } = await import("./progress");
      const hash = parseHash(root, "root");
      requireNewFile(out);
      await withStorage(options, false, async ({ storage: client }) => {
        const bar = progressBar(Boolean(options.json));
        const result = await client.download(hash, out, bar.update).finally(bar.done);
        printResult(
          Boolean(options.json),
          { root: hash, out, ...result },
          () =>
            `downloaded ${result.size} bytes to ${out}${result.repaired ? ` (${result.repaired} segment(s) rebuilt from parity)` : ""}; every segment verified`,
        );
      });
    }),
  );

storage
  .command("info <root>")
  .description("a file's log entry, the nodes that hold it, and its parity")
  .action(
    action(async (options, root: string) => {
      const { parseHash } = await import("./inputs");
      const { printResult, table } = await import("./output");
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
      const { parseAddress, parseCount } = await import("./inputs");
      const { ChallengesClient } = await import("../storage/challenges");
      const { ZgError } = await import("../core/errors");
      const { formatEther } = await import("ethers");
      const { printResult } = await import("./output");
      const opts = options as GlobalOptions & { node?: string; epochs: string };
      const given = opts.node === undefined ? undefined : parseAddress(opts.node, "node");
      const count = parseCount(opts.epochs, "--epochs");
      const chain = await connect(options);
      try {
        const node = given ?? chain.address;
        if (!node) throw new ZgError("pass --node <address>, or a key (--key / --private-key)", "BAD_INPUT");
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
      const { parseAddress, parseIndex } = await import("./inputs");
      const { ChallengesClient } = await import("../storage/challenges");
      const { printResult } = await import("./output");
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

// ─── deploy ────────────────────────────────────────────────────────────────────────────────────────
program
  .command("deploy")
  .description("deploy a profile of modules with Hardhat Ignition and record the addresses")
  .option("--profile <name>", "deployment profile from deploy/profiles", "full")
  .option("--out <file>", "where to write the deployment record (default: deployments/<chainId>.json)")
  .action(
    action(async (options) => {
      const { runDeploy } = await import("./deploy");
      const { profile, out } = options as GlobalOptions & { profile: string; out?: string };
      await runDeploy(options, profile, out);
    }),
  );

// ─── devnet ────────────────────────────────────────────────────────────────────────────────────────
program
  .command("devnet")
  .description("local chain + deployment + every worker, supervised; Ctrl-C stops everything")
  .option("--profile <name>", "deployment profile", "full")
  .option("--port <port>", "JSON-RPC port of the local chain", "8545")
  .option("--data-dir <dir>", "where workers keep data and logs (wiped at start)", ".devnet")
  .option("--demo", "run a short demo of every deployed module once the stack is up")
  .option("--exit", "stop everything after the demo; exit 0 when it succeeded")
  .action(
    action(async (options) => {
      const { runDevnet } = await import("../devnet/devnet");
      const opts = options as GlobalOptions & {
        profile: string;
        port: string;
        dataDir: string;
        demo?: boolean;
        exit?: boolean;
      };
      await runDevnet({
        profile: opts.profile,
        port: opts.port,
        dataDir: opts.dataDir,
        demo: Boolean(opts.demo),
        exitAfterDemo: Boolean(opts.exit),
        json: Boolean(opts.json),
      });
    }),
  );

registerServingCommands(program);
registerInftCommands(program);

// ─── node ──────────────────────────────────────────────────────────────────────────────────────────
program
  .command("node <kind>")
  .description(
    "run an operator worker (kinds: storage, oracle, watcher) with the config file given by --config",
  )
  .action(
    action(async (options, kind: string) => {
      const { runNode } = await import("./node");
      await runNode(kind, options.config);
    }),
  );

program.parseAsync(process.argv).catch((error: unknown) => {
  process.stderr.write(`zg: ${String((error as Error)?.message ?? error)}\n`);
  process.exitCode = 1;
});
