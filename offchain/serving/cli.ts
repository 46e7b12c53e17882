import type { Command } from "commander";
import { action, connect, withChain } from "../core/cli/command";
import type { GlobalOptions } from "../core/cli/context";

type ServingContext = {
  chain: Awaited<ReturnType<typeof connect>>;
  serving: Awaited<ReturnType<typeof import("./client").ServingClient.connect>>;
};

async function withServing(
  options: GlobalOptions,
  requireKey: boolean,
  body: (ctx: ServingContext) => Promise<void>,
) {
  const { ServingClient } = await import("./client");
  await withChain(options, requireKey, async (chain) =>
    body({ chain, serving: await ServingClient.connect(chain) }),
  );
}

interface TermsOptions {
  url?: string;
  engine?: string;
  model?: string;
  modelHash?: string;
  inputPrice?: string;
  outputPrice?: string;
  region?: string;
  signer?: string;
}

function termsOptions(command: Command, required: boolean): Command {
  const url = "--url <url>";
  return (
    required
      ? command.requiredOption(url, "public base URL of the oracle's OpenAI-compatible API")
      : command.option(url, "public base URL of the oracle")
  )
    .option("--engine <engine>", "builtin (deterministic, ships with zg) or openai:<url>")
    .option("--model <id>", "model id served (openai engines)")
    .option("--model-hash <hash>", "weights hash of the model (openai engines)")
    .option("--input-price <wei>", "wei per input token")
    .option("--output-price <wei>", "wei per output token")
    .option("--region <code>", "region code, e.g. eu")
    .option("--signer <address>", "address that signs responses (default: your key)");
}

/** The terms a register or update describes, on top of `current` (update keeps what is not given). */
async function parseTerms(
  ctx: ServingContext,
  opts: TermsOptions,
  current?: import("./client").ServiceTerms,
) {
  const { parseAddress, parseEndpoint, parseHash, parseWei } = await import("../core/cli/inputs");
  const { createEngine } = await import("../engine/engines");
  let model = current?.model;
  let modelHash = current?.modelHash;
  let deterministic = current?.deterministic ?? true;
  if (opts.engine !== undefined || current === undefined) {
    const engine = createEngine(opts.engine ?? "builtin", {
      model: opts.model,
      modelHash: opts.modelHash === undefined ? undefined : parseHash(opts.modelHash, "model hash"),
    });
    model = engine.model;
    modelHash = engine.modelHash;
    deterministic = engine.deterministic;
  }
  return {
    model: model as string,
    modelHash: modelHash as string,
    deterministic,
    url: opts.url === undefined ? (current?.url as string) : parseEndpoint(opts.url),
    inputPrice:
      opts.inputPrice === undefined ? (current?.inputPrice ?? 0n) : parseWei(opts.inputPrice, "input price"),
    outputPrice:
      opts.outputPrice === undefined
        ? (current?.outputPrice ?? 0n)
        : parseWei(opts.outputPrice, "output price"),
    region: opts.region ?? current?.region ?? "",
    signer:
      opts.signer === undefined
        ? (current?.signer ?? (ctx.chain.address as string))
        : parseAddress(opts.signer, "signer"),
  };
}

async function printService(json: boolean, service: import("./client").ServiceInfo) {
  const { printResult, table } = await import("../core/cli/output");
  printResult(json, service, () =>
    table([
      ["provider", service.provider],
      ["model", `${service.model} (${service.deterministic ? "deterministic" : "not deterministic"})`],
      ["model hash", service.modelHash],
      ["url", service.url],
      ["prices", `${service.inputPrice} wei/input token, ${service.outputPrice} wei/output token`],
      ["region", service.region || "-"],
      ["signer", service.signer],
    ]),
  );
}

/** `zg serve …`, `zg ledger …`, `zg infer`, `zg proxy`, `zg receipts verify`. */
export function registerServingCommands(program: Command): void {
  const serve = program.command("serve").description("inference services: register, update, remove, list");

  termsOptions(
    serve.command("register").description("register your inference service (you must be a staked PROVIDER)"),
    true,
  ).action(
    action(async (options) => {
      await withServing(options, true, async (ctx) => {
        const terms = await parseTerms(ctx, options as GlobalOptions & TermsOptions);
        await ctx.serving.register(terms);
        await printService(Boolean(options.json), await ctx.serving.service(ctx.chain.address as string));
      });
    }),
  );

  termsOptions(
    serve.command("update").description("change your service (options not given stay as they are)"),
    false,
  ).action(
    action(async (options) => {
      await withServing(options, true, async (ctx) => {
        const current = await ctx.serving.service(ctx.chain.address as string);
        await ctx.serving.update(await parseTerms(ctx, options as GlobalOptions & TermsOptions, current));
        await printService(Boolean(options.json), await ctx.serving.service(ctx.chain.address as string));
      });
    }),
  );

  serve
    .command("remove")
    .description("remove your service (vouchers already signed can still be settled)")
    .action(
      action(async (options) => {
        await withServing(options, true, async (ctx) => {
          const { printResult } = await import("../core/cli/output");
          const receipt = await ctx.serving.remove();
          printResult(
            Boolean(options.json),
            { removed: ctx.chain.address, tx: receipt.hash },
            () => `removed the service of ${ctx.chain.address}`,
          );
        });
      }),
    );

  serve
    .command("list")
    .description("registered services")
    .option("--model <id>", "only services of this model")
    .option("--region <code>", "only services in this region")
    .action(
      action(async (options) => {
        const { model, region } = options as GlobalOptions & { model?: string; region?: string };
        await withServing(options, false, async (ctx) => {
          const { printResult } = await import("../core/cli/output");
          const services = (await ctx.serving.services()).filter(
            (s) =>
              (model === undefined || s.model === model) && (region === undefined || s.region === region),
          );
          printResult(Boolean(options.json), services, () =>
            services.length === 0
              ? "no services registered"
              : services
                  .map(
                    (s) =>
                      `${s.provider}  ${s.model}  ${s.inputPrice}/${s.outputPrice} wei per token  ${s.region || "-"}  ${s.url}`,
                  )
                  .join("\n"),
          );
        });
      }),
    );

  const ledger = program
    .command("ledger")
    .description("your prepaid balance for inference: deposit, fund providers, refunds");

  const ledgerAction = (
    name: string,
    description: string,
    run: (ctx: ServingContext, args: string[]) => Promise<string>,
    argumentsSpec = "",
  ) =>
    ledger
      .command(`${name}${argumentsSpec}`)
      .description(description)
      .action(
        action(async (options, ...args: string[]) => {
          await withServing(options, true, async (ctx) => {
            const { printResult } = await import("../core/cli/output");
            const message = await run(ctx, args);
            printResult(Boolean(options.json), { done: name, message }, () => message);
          });
        }),
      );

  ledgerAction(
    "deposit",
    "add coin to your available balance",
    async (ctx, [amount]) => {
      const { parseAmount } = await import("../core/cli/inputs");
      await ctx.serving.deposit(parseAmount(amount));
      return `deposited ${amount}`;
    },
    " <amount>",
  );

  ledgerAction(
    "fund",
    "move coin into your sub-account with a provider (cancels pending refunds first)",
    async (ctx, [provider, amount]) => {
      const { parseAddress, parseAmount } = await import("../core/cli/inputs");
      await ctx.serving.fund(parseAddress(provider, "provider"), parseAmount(amount));
      return `funded ${provider} with ${amount}`;
    },
    " <provider> <amount>",
  );

  ledgerAction(
    "refund",
    "ask for coin back from a sub-account (unlocks after the lock time)",
    async (ctx, [provider, amount]) => {
      const { parseAddress, parseAmount } = await import("../core/cli/inputs");
      await ctx.serving.requestRefund(parseAddress(provider, "provider"), parseAmount(amount));
      const lock = await ctx.serving.lockTime();
      return `refund of ${amount} from ${provider} requested; it unlocks in ${lock} s (then 'zg ledger release ${provider}')`;
    },
    " <provider> <amount>",
  );

  ledgerAction(
    "release",
    "move unlocked refunds of a sub-account back to your available balance",
    async (ctx, [provider]) => {
      const { parseAddress } = await import("../core/cli/inputs");
      const { formatEther } = await import("ethers");
      const address = parseAddress(provider, "provider");
      const before = await ctx.serving.available(ctx.chain.address as string);
      await ctx.serving.releaseRefunds(address);
      const after = await ctx.serving.available(ctx.chain.address as string);
      return `released ${formatEther(after - before)} from ${address}`;
    },
    " <provider>",
  );

  ledgerAction(
    "resync",
    "take a provider's record of your account with it, every signature checked (after this client's state was lost, restored or used from another machine)",
    async (ctx, [provider]) => {
      const { parseAddress } = await import("../core/cli/inputs");
      const { InferenceSession } = await import("./inference");
      const address = parseAddress(provider, "provider");
      const { seq, acknowledged } = await (await InferenceSession.open(ctx.serving, address)).resync();
      return `took the record of ${address}: ${seq} response${seq === 1 ? "" : "s"}, ${acknowledged} acknowledged now`;
    },
    " <provider>",
  );

  ledgerAction(
    "withdraw",
    "send coin from your available balance (or your provider earnings) to your wallet",
    async (ctx, [amount]) => {
      const { parseAmount } = await import("../core/cli/inputs");
      const { formatEther } = await import("ethers");
      if (amount === "earnings") {
        const earnings = await ctx.serving.earnings(ctx.chain.address as string);
        await ctx.serving.withdrawEarnings();
        return `withdrew ${formatEther(earnings)} of earnings`;
      }
      const wei =
        amount === "all" ? await ctx.serving.available(ctx.chain.address as string) : parseAmount(amount);
      await ctx.serving.withdraw(wei);
      return `withdrew ${formatEther(wei)}`;
    },
    " <amount|all|earnings>",
  );

  ledger
    .command("status")
    .description("available balance, sub-accounts with every provider, pending refunds and earnings")
    .option("--user <address>", "whose ledger (default: your key)")
    .action(
      action(async (options) => {
        const { user } = options as GlobalOptions & { user?: string };
        await withServing(options, false, async (ctx) => {
          const { parseAddress } = await import("../core/cli/inputs");
          const { printResult, table } = await import("../core/cli/output");
          const { formatEther } = await import("ethers");
          const { ZgError } = await import("../core/errors");
          const who = user ? parseAddress(user, "user") : ctx.chain.address;
          if (!who) throw new ZgError("pass --user <address> or a key", "BAD_INPUT");
          const providers = (await ctx.serving.services()).map((s) => s.provider);
          const subAccounts: ({ provider: string } & import("./client").SubAccountInfo)[] = [];
          for (const provider of providers) {
            const sub = await ctx.serving.subAccount(who, provider);
            if (sub.balance > 0n) subAccounts.push({ provider, ...sub });
          }
          const status = {
            user: who,
            available: await ctx.serving.available(who),
            earnings: await ctx.serving.earnings(who),
            subAccounts,
          };
          printResult(Boolean(options.json), status, () =>
            table([
              ["user", who],
              ["available", formatEther(status.available)],
              ["earnings", formatEther(status.earnings)],
              ...subAccounts.map((s): [string, string] => [
                `with ${s.provider}`,
                `${formatEther(s.balance)}${s.pendingRefund > 0n ? ` (refunding ${formatEther(s.pendingRefund)}, next unlock ${new Date(Number(s.refunds[0].unlockAt) * 1000).toISOString()})` : ""}`,
              ]),
            ]),
          );
        });
      }),
    );

  program
    .command("infer <prompt>")
    .description("ask a provider's model; the response is verified and paid with a signed voucher")
    .requiredOption("--provider <address>", "the provider to ask")
    .option("--system <text>", "a system message before the prompt")
    .option("--max-tokens <n>", "the most tokens to generate")
    .option("--temperature <t>", "0 (greedy, default) to 2")
    .option("--seed <n>", "sampling seed")
    .action(
      action(async (options, prompt: string) => {
        const opts = options as GlobalOptions & {
          provider: string;
          system?: string;
          maxTokens?: string;
          temperature?: string;
          seed?: string;
        };
        await withServing(options, true, async (ctx) => {
          const { parseAddress } = await import("../core/cli/inputs");
          const { printResult } = await import("../core/cli/output");
          const { formatEther } = await import("ethers");
          const { InferenceSession } = await import("./inference");
          const session = await InferenceSession.open(ctx.serving, parseAddress(opts.provider, "provider"));
          const messages = [
            ...(opts.system ? [{ role: "system" as const, content: opts.system }] : []),
            { role: "user" as const, content: prompt },
          ];
          const result = await session.chat(messages, {
            ...(opts.maxTokens === undefined ? {} : { max_tokens: Number(opts.maxTokens) }),
            ...(opts.temperature === undefined ? {} : { temperature: Number(opts.temperature) }),
            ...(opts.seed === undefined ? {} : { seed: Number(opts.seed) }),
          });
          printResult(
            Boolean(options.json),
            {
              content: result.content,
              fee: result.fee,
              receiptFile: result.receiptFile,
              receipt: result.receipt,
            },
            () =>
              `${result.content}\n\n— ${result.receipt.inputTokens}+${result.receipt.outputTokens} tokens, fee ${formatEther(result.fee)}, signature verified; receipt ${result.receiptFile}`,
          );
        });
      }),
    );

  program
    .command("proxy")
    .description(
      "a local OpenAI-compatible endpoint on 127.0.0.1 for a provider: signs each request with your key, verifies each response before passing it on (anyone on this machine can spend through it: see --token)",
    )
    .option("--provider <address>", "the provider to forward to (required)")
    .option("--port <port>", "the port on 127.0.0.1", "8600")
    .option(
      "--token <secret>",
      "require Authorization: Bearer <secret> (an OpenAI client's apiKey); or ZG_PROXY_TOKEN",
    )
    .action(
      action(async (options) => {
        const opts = options as GlobalOptions & { provider?: string; port: string; token?: string };
        const { parseAddress } = await import("../core/cli/inputs");
        const { ZgError } = await import("../core/errors");
        if (opts.provider === undefined) {
          throw new ZgError("zg proxy needs --provider <address> (see 'zg serve list')", "BAD_INPUT");
        }
        const provider = parseAddress(opts.provider, "provider");
        const port = Number(opts.port);
        if (!/^\d{1,5}$/.test(opts.port) || port > 65_535) {
          throw new ZgError(`--port must be a port number (0 to 65535), not '${opts.port}'`, "BAD_INPUT");
        }
        const token = opts.token ?? process.env.ZG_PROXY_TOKEN;
        if (token !== undefined && token.length === 0)
          throw new ZgError("--token must not be empty", "BAD_INPUT");
        await withServing(options, true, async (ctx) => {
          const { InferenceSession } = await import("./inference");
          const { startProxy } = await import("./proxy");
          const { printResult } = await import("../core/cli/output");
          const session = await InferenceSession.open(ctx.serving, provider);
          const json = Boolean(options.json);
          const proxy = await startProxy(session, {
            port,
            token,
            log: json ? undefined : (line) => process.stderr.write(`zg proxy: ${line}\n`),
          });
          const service = session.registered;
          printResult(
            json,
            {
              url: `${proxy.url}/v1`,
              provider: service.provider,
              model: service.model,
              token: token !== undefined,
            },
            () =>
              `zg proxy: ${service.model} of ${service.provider} at ${proxy.url}/v1 (OPENAI_BASE_URL=${proxy.url}/v1${token === undefined ? "" : ", OPENAI_API_KEY=<your token>"}); every response verified before it is passed on; Ctrl-C stops`,
          );
          await new Promise<void>((resolve) => {
            process.once("SIGINT", resolve);
            process.once("SIGTERM", resolve);
          });
          await proxy.close();
        });
      }),
    );

  program
    .command("receipts")
    .description("inference receipts")
    .command("verify <file>")
    .description(
      "check a receipt's signature, hashes and fee, and re-execute it when the model is deterministic",
    )
    .option("--offline", "do not check the provider's registered signer on-chain")
    .action(
      action(async (options, file: string) => {
        const { readReceipt, verifyReceipt } = await import("./receipts");
        const { printResult, table } = await import("../core/cli/output");
        const receipt = readReceipt(file);
        const offline = Boolean((options as GlobalOptions & { offline?: boolean }).offline);
        let report: Awaited<ReturnType<typeof verifyReceipt>>;
        if (offline) {
          report = await verifyReceipt(receipt);
        } else {
          let result: typeof report | undefined;
          await withServing(options, false, async (ctx) => {
            result = await verifyReceipt(receipt, ctx.serving);
          });
          report = result as typeof report;
        }
        const { ZgError } = await import("../core/errors");
        printResult(Boolean(options.json), report, () =>
          table([
            ["receipt", `${receipt.seq} of ${receipt.user} with ${receipt.provider}`],
            [
              "signature",
              report.problems.some((p) => p.includes("signature"))
                ? "INVALID"
                : `valid (${receipt.signer}${report.registeredSigner ? ", the registered signer" : ""})`,
            ],
            [
              "re-execution",
              report.replay.status === "match"
                ? "bit-identical"
                : `${report.replay.status}${"detail" in report.replay ? `: ${report.replay.detail}` : ""}`,
            ],
            ["verdict", report.valid ? "valid" : `INVALID: ${report.problems.join("; ")}`],
          ]),
        );
        if (!report.valid && !options.json)
          throw new ZgError(`receipt ${file} is not valid: ${report.problems.join("; ")}`, "ZG_ERROR");
        if (!report.valid) process.exitCode = 1;
      }),
    );
}
