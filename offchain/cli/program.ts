import { Command } from "commander";
import { readFileSync } from "node:fs";
import path from "node:path";
import { action, connect } from "../core/cli/command";
import type { GlobalOptions } from "../core/cli/context";
import type { ModuleManifest } from "../core/module";
import { packageRoot } from "../core/paths";
import { MODULES, workerKinds } from "../modules";

// Only commander and the module manifests load at start-up: every command imports what it needs when it runs, so
// `zg --help` answers at once.

/** The `zg` program: the global commands, then each module's command groups in list order. */
export function buildProgram(modules: readonly ModuleManifest[] = MODULES): Command {
  const program = new Command("zg")
    .description("zerog-stack: the 0G modular AI stack on any EVM chain")
    .version(packageVersion())
    .option("--network <name>", "named network: localhost (default) or galileo")
    .option("--rpc <url>", "JSON-RPC URL of any EVM chain (overrides the network's)")
    .option("--registry <address>", "ModuleRegistry address (default: the deployment record of the chain)")
    .option("--key <keystore>", "sign with this keystore (a name from 'zg keys list', or a path)")
    .option("--private-key <hex>", "sign with a raw private key (devnet only; prefer --key)")
    .option("--password-file <file>", "file holding the keystore password (else ZG_PASSWORD, else a prompt)")
    .option(
      "--config <file>",
      "config file (default: ./zg.config.json when present; a worker's for 'zg node')",
    )
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
        const { printResult } = await import("../core/cli/output");
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
        const { printResult } = await import("../core/cli/output");
        const keyFile = (options as GlobalOptions & { privateKeyFile: string }).privateKeyFile;
        if (!existsSync(keyFile))
          throw new ZgError(`private key file ${keyFile} does not exist`, "BAD_INPUT");
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
        const { printResult } = await import("../core/cli/output");
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
        const { printResult } = await import("../core/cli/output");
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

  // ─── trace, explorer ───────────────────────────────────────────────────────────────────────────────
  program
    .command("trace <thing>")
    .description(
      "the history of an agent token, storage root, DA payload id, provider, operator, dispute or transaction, from chain events",
    )
    .option("--depth <n>", "how many links to follow from the item", "2")
    .option("--mermaid", "print a Mermaid flowchart instead of text")
    .option("--max-range <blocks>", "widest eth_getLogs block range to ask (narrowed further when refused)")
    .option("--no-cache", "read everything again instead of using the cache in ZG_HOME")
    .action(
      action(async (options, thing: string) => {
        const { runTrace } = await import("./trace");
        await runTrace(options as Parameters<typeof runTrace>[0], thing);
      }),
    );

  program
    .command("explorer")
    .description(
      "serve the explorer page (modules, operators, files, DA, agents, services, disputes, traces)",
    )
    .option("--host <host>", "address to listen on", "127.0.0.1")
    .option("--port <port>", "TCP port", "8700")
    .action(
      action(async (options) => {
        const { runExplorer } = await import("./explorer");
        await runExplorer(options as Parameters<typeof runExplorer>[0]);
      }),
    );

  for (const module of modules) module.cli?.(program);

  // ─── node ──────────────────────────────────────────────────────────────────────────────────────────
  const kinds = [...workerKinds(modules)].map(([kind, parts]) => `${kind} (${parts.join(" + ")})`);
  program
    .command("node <kind>")
    .description(`run an operator worker with the config file given by --config; kinds: ${kinds.join(", ")}`)
    .action(
      action(async (options, kind: string) => {
        const { runNode } = await import("./node");
        await runNode(kind, options.config, modules);
      }),
    );
  return program;
}
