import type { Command } from "commander";
import { action, withChain } from "../core/cli/command";
import type { GlobalOptions } from "../core/cli/context";
import { registerGovCommands } from "./gov-cli";

/** `zg gov` (licenses and governance) and `zg align` (the policy, disputes, votes, liveness). */
export function registerAlignmentCommands(program: Command): void {
  registerGovCommands(program);
  const align = program
    .command("align")
    .description("alignment: the policy, disputes against providers, votes and liveness");

  async function withAlignment(
    options: GlobalOptions,
    requireKey: boolean,
    body: (client: import("./client").AlignmentClient) => Promise<void>,
  ) {
    const { AlignmentClient } = await import("./client");
    await withChain(options, requireKey, async (chain) => body(await AlignmentClient.connect(chain)));
  }

  const policy = align.command("policy").description("the alignment policy (stored in the storage module)");
  policy
    .command("show [version]")
    .description("print a policy version (default: the current one), read from storage by its on-chain root")
    .action(
      action(async (options, version?: string) => {
        const { parseIndex } = await import("../core/cli/inputs");
        const { printResult } = await import("../core/cli/output");
        const wanted = version === undefined ? undefined : parseIndex(version, "version");
        await withAlignment(options, false, async (client) => {
          const current = await client.policy(wanted);
          if (!current)
            throw new (await import("../core/errors")).ZgError("no policy is published yet", "NOT_FOUND");
          printResult(Boolean(options.json), current, () => JSON.stringify(current, null, 2));
        });
      }),
    );
  policy
    .command("publish <file>")
    .description("store a policy document and record it as the next version (governance key only)")
    .action(
      action(async (options, file: string) => {
        const { readFile } = await import("node:fs/promises");
        const { requireFile } = await import("../core/cli/inputs");
        const { printResult } = await import("../core/cli/output");
        const { parsePolicy } = await import("./policy");
        const parsed = parsePolicy(await readFile(requireFile(file)));
        await withAlignment(options, true, async (client) => {
          const published = await client.publishPolicy(parsed);
          printResult(
            Boolean(options.json),
            published,
            () =>
              `policy version ${published.version} recorded: root ${published.root} (${published.size} bytes)`,
          );
        });
      }),
    );
  policy
    .command("check <receipt>")
    .description("run the current policy (and re-execution) on a receipt file, as an alignment node does")
    .action(
      action(async (options, file: string) => {
        const { readReceipt } = await import("../serving/receipts");
        const { requireFile } = await import("../core/cli/inputs");
        const { printResult } = await import("../core/cli/output");
        const { judge } = await import("./judge");
        const receipt = readReceipt(requireFile(file));
        await withAlignment(options, false, async (client) => {
          const verdict = await judge(client, receipt);
          printResult(Boolean(options.json), verdict, () =>
            verdict.fault
              ? `at fault (${verdict.fault.kind}): ${verdict.fault.detail}`
              : verdict.unattributable
                ? `not attributable to the provider: ${verdict.unattributable}`
                : "no fault found",
          );
          if (verdict.fault) process.exitCode = 1;
        });
      }),
    );

  align
    .command("disputes")
    .description("every dispute: provider, kind, status and outcome")
    .action(
      action(async (options) => {
        const { printResult } = await import("../core/cli/output");
        await withAlignment(options, false, async (client) => {
          const disputes = await client.listDisputes();
          printResult(Boolean(options.json), { disputes }, () =>
            disputes.length === 0
              ? "no disputes"
              : disputes
                  .map(
                    (d) =>
                      `#${d.id}  ${d.provider}  ${d.kind.padEnd(11)}  ${d.status.padEnd(8)}  ${d.voters} voter(s), outcome ${d.outcome}`,
                  )
                  .join("\n"),
          );
        });
      }),
    );

  align
    .command("vote <dispute> <license> <score>")
    .description(
      "vote on a dispute for a license you hold or operate: 0 (the provider is right) to 10 (at fault)",
    )
    .action(
      action(async (options, dispute: string, license: string, score: string) => {
        const { parseIndex } = await import("../core/cli/inputs");
        const { ZgError } = await import("../core/errors");
        const value = parseIndex(score, "score");
        if (value > 10) throw new ZgError(`score '${score}' must be 0 to 10`, "BAD_INPUT");
        await withAlignment(options, true, async (client) => {
          const voted = await client.voteIfNot(
            BigInt(parseIndex(dispute, "dispute")),
            BigInt(parseIndex(license, "license")),
            value,
          );
          (await import("../core/cli/output")).printResult(Boolean(options.json), { voted }, () =>
            voted ? `voted ${value}` : "this license has voted on that dispute already",
          );
        });
      }),
    );

  align
    .command("resolve <dispute>")
    .description("decide a dispute whose vote has ended (anyone)")
    .action(
      action(async (options, dispute: string) => {
        const { parseIndex } = await import("../core/cli/inputs");
        await withAlignment(options, true, async (client) => {
          const id = BigInt(parseIndex(dispute, "dispute"));
          await client.resolveIfOpen(id);
          const [entry] = await client.listDisputes(id);
          (await import("../core/cli/output")).printResult(
            Boolean(options.json),
            entry,
            () => `dispute ${entry.id}: ${entry.status} (outcome ${entry.outcome}, ${entry.voters} voter(s))`,
          );
        });
      }),
    );
}
