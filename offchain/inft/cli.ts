import type { Command } from "commander";
import { action, connect, withChain } from "../core/cli/command";
import type { GlobalOptions } from "../core/cli/context";

type InftContext = {
  chain: Awaited<ReturnType<typeof connect>>;
  inft: Awaited<ReturnType<typeof import("./client").InftClient.connect>>;
};

async function withInft(options: GlobalOptions, body: (ctx: InftContext) => Promise<void>) {
  const { InftClient } = await import("./client");
  await withChain(options, true, async (chain) => body({ chain, inft: await InftClient.connect(chain) }));
}

async function parseTokenId(value: string): Promise<bigint> {
  const { parseIndex } = await import("../core/cli/inputs");
  return BigInt(parseIndex(value, "token id"));
}

/** Reads `--data` files with their `--description`s (the file name when none is given). */
async function readEntries(files: string[], descriptions: string[] = []) {
  const { readFileSync } = await import("node:fs");
  const path = await import("node:path");
  const { requireFile } = await import("../core/cli/inputs");
  const { ZgError } = await import("../core/errors");
  if (descriptions.length > files.length) {
    throw new ZgError(`${descriptions.length} descriptions for ${files.length} --data files`, "BAD_INPUT");
  }
  return files.map((file, i) => ({
    description: descriptions[i] ?? path.basename(file),
    data: new Uint8Array(readFileSync(requireFile(file))),
  }));
}

/** Reads an access bundle a receiver produced with `zg inft accept`, and checks it names this token and receiver. */
async function readAccess(file: string, tokenId: bigint, to: string) {
  const { readFileSync } = await import("node:fs");
  const { requireFile, parseAddress } = await import("../core/cli/inputs");
  const { parseAccessBundle } = await import("./access");
  const receiver = parseAddress(to, "receiver");
  return parseAccessBundle(readFileSync(requireFile(file), "utf8"), {
    source: `access file ${file}`,
    tokenId,
    to: receiver,
  });
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** `zg inft …`: AI agents as ERC-7857 tokens. */
export function registerInftCommands(program: Command): void {
  const inft = program
    .command("inft")
    .description("AI agents as ERC-7857 tokens: encrypted data that travels with the token");

  inft
    .command("mint")
    .description("encrypt files, store them, have an oracle attest the keys, and mint the agent to you")
    .requiredOption("--data <file>", "a data entry (repeat for several)", collect)
    .option("--description <text>", "the entry's description (repeat, in --data order)", collect)
    .option("--oracle <address>", "the ORACLE to use (default: the first active one)")
    .action(
      action(async (options) => {
        const opts = options as GlobalOptions & { data: string[]; description?: string[]; oracle?: string };
        const entries = await readEntries(opts.data, opts.description);
        await withInft(options, async (ctx) => {
          const { printResult } = await import("../core/cli/output");
          const minted = await ctx.inft.mint(entries, { oracle: opts.oracle });
          printResult(Boolean(options.json), minted, () =>
            [
              `minted agent ${minted.tokenId} to ${ctx.chain.address}`,
              ...minted.dataHashes.map((h, i) => `  entry ${i}  ${h}  ${entries[i].description}`),
            ].join("\n"),
          );
        });
      }),
    );

  inft
    .command("accept <tokenId>")
    .description("as the receiver: sign access proofs for a token, for its owner's 'zg inft transfer|clone'")
    .option("--out <file>", "write the access bundle here (default: print it)")
    .action(
      action(async (options, rawTokenId: string) => {
        const tokenId = await parseTokenId(rawTokenId);
        const out = (options as GlobalOptions & { out?: string }).out;
        await withInft(options, async (ctx) => {
          const bundle = await ctx.inft.accept(tokenId);
          const text = `${JSON.stringify(bundle, null, 2)}\n`;
          if (out) {
            const { writeFileSync } = await import("node:fs");
            const { requireNewFile } = await import("../core/cli/inputs");
            writeFileSync(requireNewFile(out), text);
            process.stdout.write(
              options.json ? text : `access proofs for token ${tokenId} written to ${out}\n`,
            );
          } else {
            process.stdout.write(text);
          }
        });
      }),
    );

  for (const clone of [false, true]) {
    inft
      .command(`${clone ? "clone" : "transfer"} <tokenId> <to>`)
      .description(
        clone
          ? "give the receiver a re-encrypted copy of your agent (a new token); you keep yours"
          : "transfer your agent; the oracle re-encrypts it for the receiver under a fresh key",
      )
      .requiredOption(
        "--access <file>",
        "the receiver's access proofs ('zg inft accept <tokenId> --out <file>')",
      )
      .option("--oracle <address>", "the ORACLE to use (default: the first active one)")
      .action(
        action(async (options, rawTokenId: string, to: string) => {
          const tokenId = await parseTokenId(rawTokenId);
          const opts = options as GlobalOptions & { access: string; oracle?: string };
          const access = await readAccess(opts.access, tokenId, to);
          await withInft(options, async (ctx) => {
            const { printResult } = await import("../core/cli/output");
            const result = await ctx.inft.transfer(access, { clone, oracle: opts.oracle });
            printResult(Boolean(options.json), { tokenId: result.tokenId, tx: result.receipt.hash }, () =>
              clone
                ? `cloned token ${tokenId} to ${access.to} as token ${result.tokenId}`
                : `transferred token ${tokenId} to ${access.to}`,
            );
          });
        }),
      );
  }

  for (const [name, description] of [
    ["authorize", "let a user run your agent through the oracle (until revoked or transferred)"],
    ["revoke", "take a user's authorization back"],
  ] as const) {
    inft
      .command(`${name} <tokenId> <user>`)
      .description(description)
      .action(
        action(async (options, rawTokenId: string, rawUser: string) => {
          const tokenId = await parseTokenId(rawTokenId);
          const { parseAddress } = await import("../core/cli/inputs");
          const user = parseAddress(rawUser, "user");
          await withInft(options, async (ctx) => {
            const { printResult } = await import("../core/cli/output");
            await (name === "authorize" ? ctx.inft.authorize(tokenId, user) : ctx.inft.revoke(tokenId, user));
            printResult(Boolean(options.json), { tokenId, user, [name]: true }, () =>
              name === "authorize"
                ? `${user} may now use token ${tokenId}`
                : `${user} may no longer use token ${tokenId}`,
            );
          });
        }),
      );
  }

  inft
    .command("update <tokenId>")
    .description("add data to your agent, or replace an entry (the agent grows)")
    .requiredOption("--data <file>", "a new data entry (repeat for several)", collect)
    .option("--description <text>", "the entry's description (repeat, in --data order)", collect)
    .option("--replace <index>", "replace this entry instead of adding (one --data only)")
    .option("--oracle <address>", "the ORACLE to use (default: the first active one)")
    .action(
      action(async (options, rawTokenId: string) => {
        const tokenId = await parseTokenId(rawTokenId);
        const opts = options as GlobalOptions & {
          data: string[];
          description?: string[];
          replace?: string;
          oracle?: string;
        };
        const { parseIndex } = await import("../core/cli/inputs");
        const { ZgError } = await import("../core/errors");
        if (opts.replace !== undefined && opts.data.length !== 1)
          throw new ZgError("--replace takes exactly one --data", "BAD_INPUT");
        const replace = opts.replace === undefined ? undefined : parseIndex(opts.replace, "entry index");
        const entries = (await readEntries(opts.data, opts.description)).map((entry) => ({
          ...entry,
          replace,
        }));
        await withInft(options, async (ctx) => {
          const { printResult } = await import("../core/cli/output");
          await ctx.inft.update(tokenId, entries, { oracle: opts.oracle });
          const view = await ctx.inft.show(tokenId);
          printResult(Boolean(options.json), view.datas, () =>
            [
              `token ${tokenId} now holds ${view.datas.length} entries`,
              ...view.datas.map((d, i) => `  entry ${i}  ${d.dataHash}  ${d.dataDescription}`),
            ].join("\n"),
          );
        });
      }),
    );

  inft
    .command("show <tokenId>")
    .description("owner, entries, authorized users and the token's on-chain history")
    .action(
      action(async (options, rawTokenId: string) => {
        const tokenId = await parseTokenId(rawTokenId);
        const { InftClient } = await import("./client");
        const chain = await connect(options, false);
        try {
          const view = await (await InftClient.connect(chain)).show(tokenId);
          const { printResult } = await import("../core/cli/output");
          printResult(Boolean(options.json), view, () =>
            [
              `token ${tokenId}, owned by ${view.owner}`,
              ...view.datas.map((d, i) => `  entry ${i}  ${d.dataHash}  ${d.dataDescription}`),
              `  authorized: ${view.authorizedUsers.join(", ") || "-"}`,
              "  history:",
              ...view.provenance.map((p) => `    block ${p.block}  ${p.event.padEnd(20)} ${p.detail}`),
            ].join("\n"),
          );
        } finally {
          chain.destroy();
        }
      }),
    );

  inft
    .command("decrypt <tokenId> <outDir>")
    .description("as the owner: recover your agent's data with your own key")
    .action(
      action(async (options, rawTokenId: string, outDir: string) => {
        const tokenId = await parseTokenId(rawTokenId);
        const { existsSync, mkdirSync, writeFileSync } = await import("node:fs");
        const path = await import("node:path");
        const { ZgError } = await import("../core/errors");
        if (existsSync(outDir))
          throw new ZgError(`${outDir} already exists: choose a new directory`, "BAD_INPUT");
        await withInft(options, async (ctx) => {
          const { printResult } = await import("../core/cli/output");
          const entries = await ctx.inft.decrypt(tokenId);
          mkdirSync(outDir, { recursive: true });
          const files = entries.map((entry, i) => {
            const file = path.join(outDir, `entry-${i}`);
            writeFileSync(file, entry.data);
            return {
              file,
              description: entry.description,
              dataHash: entry.dataHash,
              bytes: entry.data.length,
            };
          });
          printResult(Boolean(options.json), files, () =>
            files.map((f) => `${f.file}  ${f.bytes} bytes  ${f.description}`).join("\n"),
          );
        });
      }),
    );

  inft
    .command("infer <tokenId> <prompt>")
    .description("as the owner or an authorized user: ask the agent's own model, run by the oracle")
    .option("--max-tokens <n>", "the most tokens to generate")
    .option("--oracle <address>", "the ORACLE to use (default: the first active one)")
    .action(
      action(async (options, rawTokenId: string, prompt: string) => {
        const tokenId = await parseTokenId(rawTokenId);
        const opts = options as GlobalOptions & { maxTokens?: string; oracle?: string };
        await withInft(options, async (ctx) => {
          const { printResult } = await import("../core/cli/output");
          const { formatEther } = await import("ethers");
          const result = await ctx.inft.infer(
            tokenId,
            prompt,
            opts.maxTokens === undefined ? {} : { max_tokens: Number(opts.maxTokens) },
            { oracle: opts.oracle },
          );
          if (result.paid) {
            printResult(
              Boolean(options.json),
              { content: result.content, fee: result.fee, receiptFile: result.receiptFile },
              () =>
                `${result.content}\n\n— agent ${tokenId}, fee ${formatEther(result.fee)}, signature verified; receipt ${result.receiptFile}`,
            );
          } else {
            printResult(
              Boolean(options.json),
              { content: result.content, oracle: result.oracle },
              () =>
                `${result.content}\n\n— agent ${tokenId}, run by oracle ${result.oracle} (no inference fees here)`,
            );
          }
        });
      }),
    );
}
