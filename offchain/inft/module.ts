import { z } from "zod";
import { coinAmountSchema } from "../core/schemas";
import type { ModuleManifest } from "../core/module";
import { registerInftCommands } from "./cli";

const profile = z
  .object({
    /** Coin per mint or clone of an agent token; "0" for none (no-token deployments). */
    mintFee: coinAmountSchema.default("0"),
  })
  .strict();

/** AI agents as ERC-7857 intelligent NFTs: encrypted data in storage, keys re-encrypted by a staked oracle. */
export const inft = {
  name: "inft",
  summary: "AI agents as ERC-7857 NFTs: encrypted data, oracle re-encryption on transfer, sealed execution",
  contracts: {
    agentNft: { name: "AgentNFT", version: "1.0.0" },
    oracleVerifier: { name: "OracleVerifier", version: "1.0.0" },
  },
  requires: ["staking", "storage"],
  profile,
  async deploy(section: z.output<typeof profile>) {
    const { parseEther } = await import("ethers");
    const { default: module } = await import("./ignition");
    return [{ module, parameters: { mintFee: parseEther(section.mintFee).toString() } }];
  },
  roles: ["ORACLE"],
  workers: [
    {
      worker: "oracle",
      description: "the ERC-7857 oracle: key attestation, re-encryption for new owners, the sealed executor",
      load: async () => (await import("./oracle")).inftOracleService,
    },
  ],
  cli: registerInftCommands,
  devnet: {
    tryIt: () => [
      `AGENT=$(zg --json inft mint --data README.md --description readme | node -pe 'JSON.parse(require("fs").readFileSync(0, "utf8")).tokenId')`,
      'zg inft infer "$AGENT" "what is zerog-stack?"',
      'zg trace "agent:$AGENT"',
    ],
    workers: () => [
      {
        name: "oracle",
        kind: "oracle",
        roles: ["ORACLE"],
        api: "ERC-7857 /v1/inft",
        config: (port: number) => ({ inft: { publicUrl: `http://127.0.0.1:${port}` } }),
      },
    ],
  },
  trace: async () => (await import("./trace")).inftTrace,
  demo: [
    {
      title:
        "an AI agent is minted, transferred with re-encryption, decrypted by its new owner only, and run for an authorized user",
      run: async (context) => (await import("./demo")).showAgent(context),
    },
  ],
} satisfies ModuleManifest<typeof profile>;
