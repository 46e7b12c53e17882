import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";
import { encodeBytes32String } from "ethers";
import CoreModule from "./Core";
import StorageModule from "./Storage";

export const STORAGE_CHALLENGES_VERSION = "1.0.0";

/**
 * StorageChallenges behind a UUPS proxy, registered as "StorageChallenges" and granted slashing authority
 * (`setSlasher`). It finds Flow, Market and NodeStaking through the registry at call time, so NodeStaking must be
 * registered (the Staking module) before any declaration or slash.
 *
 * Parameters (module "StorageChallenges"):
 * - `epochBlocks` (default 100), `responseWindow` (blocks, ≤ 255 and ≤ epochBlocks; default 50),
 * - `slashAmount` (wei, decimal string; default "0": jail only), `rewardBps` (default 1000),
 * - `dataLifetime` (seconds; default 30 days).
 */
export default buildModule("StorageChallenges", (m) => {
  const { registry } = m.useModule(CoreModule);
  const { flow, market } = m.useModule(StorageModule);
  const params = {
    epochBlocks: m.getParameter<number>("epochBlocks", 100),
    responseWindow: m.getParameter<number>("responseWindow", 50),
    rewardBps: m.getParameter<number>("rewardBps", 1000),
    dataLifetime: m.getParameter<number>("dataLifetime", 30 * 24 * 60 * 60),
    slashAmount: m.getParameter<string>("slashAmount", "0"),
  };

  const implementation = m.contract("StorageChallenges", [], { id: "StorageChallengesImplementation" });
  const initData = m.encodeFunctionCall(implementation, "initialize", [registry, params]);
  const proxy = m.contract("ZgProxy", [implementation, initData], { id: "StorageChallengesProxy" });
  const challenges = m.contractAt("StorageChallenges", proxy, { id: "StorageChallenges" });
  const name = encodeBytes32String("StorageChallenges");
  const registered = m.call(registry, "setModule", [name, challenges, STORAGE_CHALLENGES_VERSION], {
    id: "RegisterStorageChallenges",
  });
  m.call(registry, "setSlasher", [name, true], { id: "AuthorizeStorageChallenges", after: [registered] });
  return { registry, flow, market, challenges };
});
