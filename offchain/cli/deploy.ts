import { loadWallet } from "../core/keys";
import { loadProfile } from "../profiles";
import { probeChainId } from "../core/chain";
import { deployWithHardhat } from "../devnet/hardhat";
import { chainConfigFromOptions, type GlobalOptions } from "../core/cli/context";
import { printResult } from "../core/cli/output";

/** `zg deploy`: validates everything it can before Hardhat starts, then deploys and prints the record. */
export async function runDeploy(options: GlobalOptions, profileName: string, out?: string): Promise<void> {
  loadProfile(profileName);
  const config = chainConfigFromOptions(options);
  const chainId = await probeChainId(config.rpcUrl);
  const privateKey = config.key ? (await loadWallet(config.key)).privateKey : undefined;
  const network = config.network === "custom" ? "custom" : config.network;
  const record = await deployWithHardhat({
    network,
    profile: profileName,
    privateKey,
    rpcUrl: config.rpcUrl,
    out,
  });
  printResult(Boolean(options.json), record, () =>
    [
      `deployed profile ${record.profile} on chain ${chainId} (${config.network})`,
      `registry     ${record.registry}`,
      ...Object.entries(record.modules).map(([name, m]) => `${name.padEnd(12)} ${m.address}  v${m.version}`),
    ].join("\n"),
  );
}
