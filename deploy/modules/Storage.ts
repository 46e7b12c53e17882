import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";
import { encodeBytes32String } from "ethers";
import CoreModule from "./Core";

export const STORAGE_VERSION = "1.0.0";

/**
 * The storage log: Market and Flow, each behind a UUPS proxy, registered as "Market" and "Flow".
 *
 * Parameters (module "Storage"):
 * - `pricePerSector`: wei per 256-byte sector, as a decimal string; "0" (the default) is the `no-token` profile.
 *
 * The Market is deployed first: the Flow's implementation takes the Market's (proxy) address as an immutable,
 * and the Flow copies the price from it when initialized.
 */
export default buildModule("Storage", (m) => {
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

  m.call(registry, "setModule", [encodeBytes32String("Market"), market, STORAGE_VERSION], {
    id: "RegisterMarket",
  });
  m.call(registry, "setModule", [encodeBytes32String("Flow"), flow, STORAGE_VERSION], { id: "RegisterFlow" });
  return { registry, market, flow };
});
