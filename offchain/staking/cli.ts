import type { Command } from "commander";
import { Option } from "commander";
import { action, connect, withChain } from "../core/cli/command";
import type { GlobalOptions } from "../core/cli/context";
import type { RoleName } from "../core/roles";

/** `zg stake`: an operator's bond in NodeStaking, per role. */
export function registerStakingCommands(program: Command): void {
  const stake = program.command("stake").description("operator stake in NodeStaking");
  const roleOption = () =>
    new Option("--role <role>", "STORAGE, DA_SIGNER, PROVIDER, ORACLE or ALIGNMENT").makeOptionMandatory();

  async function withStaking(
    options: GlobalOptions,
    requireKey: boolean,
    body: (ctx: StakingContext) => Promise<void>,
  ) {
    const { StakingClient } = await import("./client");
    await withChain(options, requireKey, async (chain) =>
      body({ chain, staking: await StakingClient.connect(chain) }),
    );
  }
  type StakingContext = {
    chain: Awaited<ReturnType<typeof connect>>;
    staking: Awaited<ReturnType<typeof import("./client").StakingClient.connect>>;
  };

  async function printStatus(options: GlobalOptions, ctx: StakingContext, operator: string, role: RoleName) {
    const { formatEther } = await import("ethers");
    const { printResult, table } = await import("../core/cli/output");
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
        const { parseAmount } = await import("../core/cli/inputs");
        const { parseRole } = await import("./client");
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
        const { parseAmount } = await import("../core/cli/inputs");
        const { parseRole } = await import("./client");
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
        const { parseRole } = await import("./client");
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
        const { parseEndpoint } = await import("../core/cli/inputs");
        const { parseRole } = await import("./client");
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
        const { parseAddress } = await import("../core/cli/inputs");
        const { parseRole } = await import("./client");
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
}
