import { z } from "zod";
import type { IgnitionPart, ModuleManifest } from "../core/module";
import { registerServingCommands } from "./cli";

/**
 * InferenceServing always, and the ServingLedger that pays for services when `ledger` is true (with the refund lock
 * time). Without a ledger (no-token deployments) services must be free.
 */
const profile = z.discriminatedUnion("ledger", [
  z
    .object({
      ledger: z.literal(true),
      /** Seconds a refund stays locked: the provider's window to settle what it is owed. */
      lockTimeSeconds: z
        .number()
        .int()
        .min(60)
        .max(30 * 24 * 60 * 60),
    })
    .strict(),
  z.object({ ledger: z.literal(false) }).strict(),
]);

const contracts = {
  serving: { name: "InferenceServing", version: "1.0.0" },
  ledger: { name: "ServingLedger", version: "1.0.0" },
};

/** Verifiable inference: provider services, voucher-paid requests, signed receipts and batch settlement. */
export const serving = {
  name: "serving",
  summary: "inference services, prepaid balances, signed receipts and batch settlement",
  contracts,
  requires: ["staking"],
  profile,
  async deploy(section: z.output<typeof profile>) {
    const { InferenceServingModule, ServingLedgerModule } = await import("./ignition");
    const parts: IgnitionPart[] = [{ module: InferenceServingModule, parameters: {} }];
    // Without a ledger (the no-token profile) services are free and nothing is settled.
    if (section.ledger)
      parts.push({ module: ServingLedgerModule, parameters: { lockTime: section.lockTimeSeconds } });
    return parts;
  },
  roles: ["PROVIDER"],
  workers: [
    {
      worker: "oracle",
      description: "the inference oracle: OpenAI-compatible API, voucher checks, signed receipts, settlement",
      load: async () => (await import("./oracle")).inferenceService,
    },
  ],
  cli: registerServingCommands,
  devnet: {
    tryIt: ({ state }) => {
      const provider = state.operators.find((o) => o.role === "PROVIDER")?.address;
      if (!provider) return [];
      const paid = Boolean(state.deployment.modules[contracts.ledger.name]);
      return [
        ...(paid ? ["zg ledger deposit 1", `zg ledger fund ${provider} 0.5`] : []),
        `zg infer --provider ${provider} "what is a storage node?"`,
        // Any OpenAI client, through the local signing and verifying proxy (OPENAI_BASE_URL for stock SDKs).
        `zg proxy --provider ${provider} --port 8600 &  # OPENAI_BASE_URL=http://127.0.0.1:8600/v1`,
        `curl -s --retry 10 --retry-connrefused http://127.0.0.1:8600/v1/chat/completions -H 'content-type: application/json' -d '{"model":"zg-builtin-1","messages":[{"role":"user","content":"what is a validator?"}]}'`,
      ];
    },
    workers: ({ deployment }) => {
      // Paid when a ledger can carry the payments, free otherwise (the no-token profile).
      const paid = Boolean(deployment.modules[contracts.ledger.name]);
      return [
        {
          name: "oracle",
          kind: "oracle",
          roles: ["PROVIDER"],
          api: "OpenAI-compatible /v1",
          config: (port: number) => ({
            engine: "builtin",
            service: {
              publicUrl: `http://127.0.0.1:${port}`,
              inputPrice: paid ? "1000000000" : "0",
              outputPrice: paid ? "3000000000" : "0",
              region: "eu",
            },
            settleIntervalMs: 2_000,
            settleCheckMs: 500,
          }),
        },
      ];
    },
  },
  trace: async () => (await import("./trace")).servingTrace,
  demo: [
    {
      title: "a user pays for verified inference with signed vouchers, and the provider is settled on-chain",
      run: async (context) => (await import("./demo")).showInference(context),
    },
  ],
} satisfies ModuleManifest<typeof profile>;
