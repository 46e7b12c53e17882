import type { DevnetOperator, DevnetPart, DevnetSetupContext } from "../core/module";

/** Alignment nodes on the devnet, each running one license of its own. */
const DEVNET_ALIGNMENT_NODES = 3;

/** Mints one license to each alignment node's account (the deployer is the license's minter on a devnet). */
async function mintDevnetLicenses(context: DevnetSetupContext): Promise<DevnetOperator[]> {
  const { AlignmentClient } = await import("./client");
  const governance = await context.connect(context.governance.privateKey);
  try {
    const client = await AlignmentClient.connect(governance);
    for (const { account } of context.accounts.filter((a) => a.roles.includes("ALIGNMENT")))
      if ((await client.licensesOf(account.address)).length === 0) await client.mintLicense(account.address);
  } finally {
    governance.destroy();
  }
  // Staking's own setup stakes them and reports the operators.
  return [];
}

export const alignmentDevnet: DevnetPart = {
  workers: () =>
    Array.from({ length: DEVNET_ALIGNMENT_NODES }, (_, n) => ({
      name: `alignment-${n}`,
      kind: "alignment",
      roles: ["ALIGNMENT" as const],
      // Every receipt checked, every two seconds: the demo's tampered answer is found at once.
      config: () => ({ auditIntervalMs: 2000, sampleRate: 1 }),
    })),
  setup: mintDevnetLicenses,
  tryIt: () => ["zg gov licenses", "zg align disputes"],
};
