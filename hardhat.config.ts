import { subtask, task, types } from "hardhat/config";
import { TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD, TASK_NODE, TASK_TEST } from "hardhat/builtin-tasks/task-names";
import type { HardhatUserConfig, NetworkUserConfig } from "hardhat/types";
// The devnet's chain process (ZG_CHAIN_ONLY) deploys and serves: it loads ethers and Ignition, not the whole
// toolbox (test matchers, TypeChain, gas reporter, coverage, verification), which would double its memory.
// (The type-only import keeps the toolbox's config and test-matcher types for the compiler in every case.)
import type {} from "@nomicfoundation/hardhat-toolbox";
/* eslint-disable @typescript-eslint/no-require-imports */
if (process.env.ZG_CHAIN_ONLY) {
  require("@nomicfoundation/hardhat-ethers");
  require("@nomicfoundation/hardhat-ignition-ethers");
} else {
  require("@nomicfoundation/hardhat-toolbox");
}
/* eslint-enable @typescript-eslint/no-require-imports */

const SOLC_VERSION = "0.8.28";
/** How many of the development mnemonic's accounts the devnet chain funds. */
const DEVNET_ACCOUNTS = 100;

// The compiler cannot be downloaded on our machines: use the pinned npm `solc` (soljson) instead.
subtask(TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD, async (args: { solcVersion: string }, _hre, runSuper) => {
  if (args.solcVersion !== SOLC_VERSION) return runSuper(args);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const solc = require("solc") as { version(): string };
  return {
    compilerPath: require.resolve("solc/soljson.js"),
    isSolcJs: true,
    version: SOLC_VERSION,
    longVersion: solc.version(),
  };
});

// The last line of a test run is the plain summary CI reads, printed after the gas report.
task(TASK_TEST).setAction(async (args, _hre, runSuper) => {
  const failures: unknown = await runSuper(args);
  const summary = (globalThis as { __zgTestSummary?: string }).__zgTestSummary;
  if (summary) console.log(`\n${summary}`);
  return failures;
});

task("zg:deploy", "Deploys a profile of zerog-stack modules with Ignition")
  .addParam("profile", "profile name from deploy/profiles", "full", types.string)
  .addOptionalParam("out", "where to write the deployment record", undefined, types.string)
  .setAction(async (args: { profile: string; out?: string }, hre) => {
    const { deployProfile } = await import("./deploy/deploy-profile");
    const record = await deployProfile(hre, args.profile, args.out);
    // The one line `zg deploy` reads back.
    console.log(JSON.stringify({ deployment: true, ...record }));
  });

task(
  "zg:chain",
  "Deploys a profile on the in-process network, then serves that chain over JSON-RPC (the devnet)",
)
  .addParam("profile", "profile name from deploy/profiles", "full", types.string)
  .addParam("hostname", "address to listen on", "127.0.0.1", types.string)
  .addParam("port", "JSON-RPC port", 8545, types.int)
  .setAction(async (args: { profile: string; hostname: string; port: number }, hre) => {
    // Deploying in this process needs no second Hardhat start-up and writes no Ignition journal (the in-process
    // network is ephemeral); the record goes where the SDK reads it, for the network clients will call "localhost".
    const { deployProfile } = await import("./deploy/deploy-profile");
    const { MODULES } = await import("./offchain/modules");
    const record = await deployProfile(hre, args.profile, undefined, MODULES, "localhost");
    console.log(JSON.stringify({ deployment: true, ...record }));
    (globalThis as { gc?: () => void }).gc?.();
    await hre.run(TASK_NODE, { hostname: args.hostname, port: args.port });
  });

/** Accounts for remote networks come from the environment, never from the repository. */
function remoteAccounts(): string[] {
  const key = process.env.ZG_PRIVATE_KEY;
  return key ? [key.startsWith("0x") ? key : `0x${key}`] : [];
}

const networks: Record<string, NetworkUserConfig> = {
  // The devnet mines a block every ZG_BLOCK_INTERVAL_MS too, so that epochs advance without traffic.
  // The devnet's chain also funds 100 development accounts (not the default 20): operators, its user and every
  // account its demo hands out are funded from genesis, so a demo of the no-token profile moves no coin at all.
  hardhat: process.env.ZG_BLOCK_INTERVAL_MS
    ? {
        chainId: 31337,
        mining: { auto: true, interval: Number(process.env.ZG_BLOCK_INTERVAL_MS) },
        accounts: { count: DEVNET_ACCOUNTS },
      }
    : { chainId: 31337 },
  localhost: { url: process.env.ZG_LOCAL_RPC_URL ?? "http://127.0.0.1:8545", chainId: 31337 },
  galileo: {
    url: process.env.ZG_GALILEO_RPC_URL ?? "https://evmrpc-testnet.0g.ai",
    chainId: 16602,
    accounts: remoteAccounts(),
  },
};
if (process.env.ZG_RPC_URL) {
  networks.custom = { url: process.env.ZG_RPC_URL, accounts: remoteAccounts() };
}

const config: HardhatUserConfig = {
  solidity: {
    version: SOLC_VERSION,
    settings: { optimizer: { enabled: true, runs: 200 }, evmVersion: "cancun" },
  },
  networks,
  paths: { ignition: "deploy" },
  typechain: { outDir: "typechain-types", target: "ethers-v6" },
  gasReporter: {
    enabled: process.env.REPORT_GAS !== "0",
    outputFile: process.env.CI ? undefined : "gas-report.txt",
    noColors: true,
    reportPureAndViewMethods: false,
    darkMode: false,
  },
  mocha: { timeout: 120_000, reporter: require.resolve("./scripts/test-summary-reporter.js") },
};

export default config;
