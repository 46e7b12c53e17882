import type { Command } from "commander";
import { action, withChain } from "../core/cli/command";
import type { GlobalOptions } from "../core/cli/context";
import type { GovernanceClient } from "./governance";

/** `zg gov`: alignment governance: propose, vote, queue, execute, status; licenses and delegation. */
export function registerGovCommands(program: Command): void {
  const gov = program
    .command("gov")
    .description("alignment governance: proposals by license holders, votes, the timelock; licenses");

  async function withGov(
    options: GlobalOptions,
    requireKey: boolean,
    body: (client: GovernanceClient) => Promise<void>,
  ) {
    const { GovernanceClient } = await import("./governance");
    await withChain(options, requireKey, async (chain) => body(await GovernanceClient.connect(chain)));
  }

  async function proposalId(value: string): Promise<bigint> {
    const { ZgError } = await import("../core/errors");
    if (!/^(\d{1,78}|0x[0-9a-fA-F]{1,64})$/.test(value))
      throw new ZgError(`proposal id '${value}' is not a number`, "BAD_INPUT");
    return BigInt(value);
  }

  function txLine(what: string, receipt: { hash: string; blockNumber: number }): string {
    return `${what} (tx ${receipt.hash}, block ${receipt.blockNumber})`;
  }

  gov
    .command("propose")
    .description(
      "propose a call through the timelock, e.g. --target Market --call 'setPricePerSector(uint256)' --args '[\"1\"]'",
    )
    .requiredOption("--target <contract>", "a registered contract name (e.g. Market) or an address")
    .requiredOption("--call <signature>", "the function signature, e.g. setPricePerSector(uint256)")
    .option("--args <json>", "the arguments as a JSON array", "[]")
    .requiredOption("--description <text>", "what the proposal does and why")
    .action(
      action(async (options) => {
        const { ZgError } = await import("../core/errors");
        const { printResult, table } = await import("../core/cli/output");
        const opts = options as GlobalOptions & {
          target: string;
          call: string;
          args: string;
          description: string;
        };
        let args: unknown;
        try {
          args = JSON.parse(opts.args);
        } catch {
          throw new ZgError(
            `--args '${opts.args}' is not JSON (a JSON array such as '["1", true]')`,
            "BAD_INPUT",
          );
        }
        if (!Array.isArray(args))
          throw new ZgError(`--args must be a JSON array, got '${opts.args}'`, "BAD_INPUT");
        await withGov(options, true, async (client) => {
          const call = { target: opts.target, signature: opts.call, args };
          await client.encode(call); // bad input fails before anything is sent
          const result = await client.propose([call], opts.description);
          printResult(Boolean(options.json), { proposalId: result.id, block: result.block }, () =>
            table([
              ["proposal", result.id.toString()],
              ["block", String(result.block)],
            ]),
          );
        });
      }),
    );

  gov
    .command("vote <proposalId> <support>")
    .description("vote for, against or abstain with the licenses delegated to you")
    .option("--reason <text>", "a reason, recorded on-chain")
    .action(
      action(async (options, id: string, support: string) => {
        const { ZgError } = await import("../core/errors");
        const { SUPPORT } = await import("./governance");
        const { printResult } = await import("../core/cli/output");
        const choice = support.toLowerCase();
        if (!(choice in SUPPORT))
          throw new ZgError(`support '${support}' must be for, against or abstain`, "BAD_INPUT");
        const proposal = await proposalId(id);
        const opts = options as GlobalOptions & { reason?: string };
        await withGov(options, true, async (client) => {
          const receipt = await client.vote(proposal, choice as keyof typeof SUPPORT, opts.reason);
          printResult(
            Boolean(options.json),
            { proposalId: proposal, support: choice, tx: receipt.hash, block: receipt.blockNumber },
            () => txLine(`voted ${choice} on ${proposal}`, receipt),
          );
        });
      }),
    );

  for (const [name, description] of [
    ["queue", "queue a succeeded proposal in the timelock"],
    ["execute", "execute a queued proposal once the timelock delay has passed"],
  ] as const) {
    gov
      .command(`${name} <proposalId>`)
      .description(description)
      .action(
        action(async (options, id: string) => {
          const { printResult } = await import("../core/cli/output");
          const proposal = await proposalId(id);
          await withGov(options, true, async (client) => {
            const receipt = name === "queue" ? await client.queue(proposal) : await client.execute(proposal);
            printResult(
              Boolean(options.json),
              { proposalId: proposal, tx: receipt.hash, block: receipt.blockNumber },
              () => txLine(`${name === "queue" ? "queued" : "executed"} ${proposal}`, receipt),
            );
          });
        }),
      );
  }

  gov
    .command("status <proposalId>")
    .description("a proposal's state, votes, quorum and timing")
    .action(
      action(async (options, id: string) => {
        const { printResult, table } = await import("../core/cli/output");
        const proposal = await proposalId(id);
        await withGov(options, false, async (client) => {
          const status = await client.status(proposal);
          printResult(Boolean(options.json), status, () =>
            table([
              ["proposal", status.id.toString()],
              ["state", status.state],
              ["proposer", status.proposer],
              [
                "votes",
                `for ${status.votes.for}, against ${status.votes.against}, abstain ${status.votes.abstain}`,
              ],
              ["quorum", status.quorum.toString()],
              ["voting", `blocks ${status.snapshot + 1}–${status.deadline}`],
              ["eta", status.eta === 0 ? "-" : new Date(status.eta * 1000).toISOString()],
              ["description", status.description],
            ]),
          );
        });
      }),
    );

  gov
    .command("licenses")
    .description("the license supply; with --holder, its licenses, votes and delegate")
    .option("--holder <address>", "a holder to show")
    .action(
      action(async (options) => {
        const { parseAddress } = await import("../core/cli/inputs");
        const { printResult, table } = await import("../core/cli/output");
        const opts = options as GlobalOptions & { holder?: string };
        const holder = opts.holder === undefined ? undefined : parseAddress(opts.holder, "--holder");
        await withGov(options, false, async (client) => {
          const summary = await client.licenses(holder);
          printResult(Boolean(options.json), summary, () => {
            const rows: [string, string][] = [
              ["minted", `${summary.totalMinted} of ${summary.maxSupply}`],
              ["transferable", new Date(summary.transferableAfter * 1000).toISOString()],
            ];
            if (summary.holder)
              rows.push(
                ["holder", summary.holder.address],
                ["licenses", `${summary.holder.balance} (${summary.holder.tokenIds.join(", ") || "-"})`],
                ["votes", summary.holder.votes.toString()],
                ["delegate", summary.holder.delegate],
              );
            return table(rows);
          });
        });
      }),
    );

  gov
    .command("delegate <address>")
    .description("delegate your license votes (to yourself to vote directly)")
    .action(
      action(async (options, delegatee: string) => {
        const { parseAddress } = await import("../core/cli/inputs");
        const { printResult } = await import("../core/cli/output");
        const address = parseAddress(delegatee, "delegate");
        await withGov(options, true, async (client) => {
          const receipt = await client.delegate(address);
          printResult(
            Boolean(options.json),
            { delegate: address, tx: receipt.hash, block: receipt.blockNumber },
            () => txLine(`delegated to ${address}`, receipt),
          );
        });
      }),
    );
}
