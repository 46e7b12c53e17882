import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";
import { encodeBytes32String } from "ethers";
import CoreModule from "../core/ignition";
import { storage } from "./module";

const { flow: FLOW, market: MARKET, challenges: CHALLENGES } = storage.contracts;

/**
 * The storage log: Market and Flow, each behind a UUPS proxy, registered as "Market" and "Flow".
 *
 * Parameters (module "storage"):
 * - `pricePerSector`: wei per 256-byte sector, as a decimal string; "0" (the default) is the `no-token` profile.
 *
 * The Market is deployed first: the Flow's implementation takes the Market's (proxy) address as an immutable,
 * and the Flow copies the price from it when initialized.
 */
export const StorageLogModule = buildModule("storage", (m) => {
  const { registry } = m.useModule(CoreModule);
  const pricePerSector = m.getParameter<string>("pricePerSector", "0");

  const marketImplementation = m.contract("Market", [], { id: "MarketImplementation" });
  const marketInit = m.encodeFunctionCall(marketImplementation, "initialize", [registry, pricePerSector]);
  const marketProxy = m.contract("ZgProxy", [marketImplementation, marketInit], { id: "MarketProxy" });
  const market = m.contractAt("Market", marketProxy, { id: "Market" });

  const flowImplementation = m.contract("Flow", [market], { id: "FlowImplementation" });
  const flowInit = m.encodeFunctionCall(flowImplementation, "initialize", [registry]);
  const flowProxy = m.contract("ZgProxy", [flowImplementation, flowInit], { id: "FlowProxy" });
  const flow = m.contractAt("Flow", flowProxy, { id: "Flow" });

  m.call(registry, "setModule", [encodeBytes32String(MARKET.name), market, MARKET.version], {
    id: "RegisterMarket",
  });
  m.call(registry, "setModule", [encodeBytes32String(FLOW.name), flow, FLOW.version], { id: "RegisterFlow" });
  return { registry, market, flow };
});

/**
 * StorageChallenges behind a UUPS proxy, registered as "StorageChallenges" and granted slashing authority
 * (`setSlasher`). It finds Flow, Market and NodeStaking through the registry at call time, so NodeStaking must be
 * registered (the staking module) before any declaration or slash.
 *
 * Parameters (module "storageChallenges"):
 * - `epochBlocks` (default 100), `responseWindow` (blocks, ≤ 255 and ≤ epochBlocks; default 50),
 * - `slashAmount` (wei, decimal string; default "0": jail only), `rewardBps` (default 1000),
 * - `dataLifetime` (seconds; default 30 days).
 */
export const StorageChallengesModule = buildModule("storageChallenges", (m) => {
  const { registry } = m.useModule(CoreModule);
  const { flow, market } = m.useModule(StorageLogModule);
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
  const name = encodeBytes32String(CHALLENGES.name);
  const registered = m.call(registry, "setModule", [name, challenges, CHALLENGES.version], {
    id: "RegisterStorageChallenges",
  });
  m.call(registry, "setSlasher", [name, true], { id: "AuthorizeStorageChallenges", after: [registered] });
  return { registry, flow, market, challenges };
});
