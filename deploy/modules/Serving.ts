import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";
import { encodeBytes32String } from "ethers";
import CoreModule from "./Core";

export const SERVING_VERSION = "1.0.0";

/**
 * ServingLedger behind a UUPS proxy, registered as "ServingLedger": users' prepaid balances for inference. It
 * recognizes the serving module through the registry ("InferenceServing") at call time, so the two can be deployed
 * in either order. Left out of the `no-token` profile: without it services must be free.
 *
 * Parameters (module "ServingLedger"):
 * - `lockTime`: seconds a refund stays locked, within [60, 30 days] (default 86,400).
 */
export const ServingLedgerModule = buildModule("ServingLedger", (m) => {
  const { registry } = m.useModule(CoreModule);
  const lockTime = m.getParameter<number>("lockTime", 86_400);

  const implementation = m.contract("ServingLedger", [], { id: "ServingLedgerImplementation" });
  const initData = m.encodeFunctionCall(implementation, "initialize", [registry, lockTime]);
  const proxy = m.contract("ZgProxy", [implementation, initData], { id: "ServingLedgerProxy" });
  const ledger = m.contractAt("ServingLedger", proxy, { id: "ServingLedger" });
  m.call(registry, "setModule", [encodeBytes32String("ServingLedger"), ledger, SERVING_VERSION], {
    id: "RegisterServingLedger",
  });
  return { registry, ledger };
});

/**
 * InferenceServing behind a UUPS proxy, registered as "InferenceServing": the service registry and voucher
 * settlement. It finds NodeStaking (providers must be active in the PROVIDER role to register) and the
 * ServingLedger (to settle, and to accept paid services) through the registry at call time.
 */
export const InferenceServingModule = buildModule("InferenceServing", (m) => {
  const { registry } = m.useModule(CoreModule);

  const implementation = m.contract("InferenceServing", [], { id: "InferenceServingImplementation" });
  const initData = m.encodeFunctionCall(implementation, "initialize", [registry]);
  const proxy = m.contract("ZgProxy", [implementation, initData], { id: "InferenceServingProxy" });
  const serving = m.contractAt("InferenceServing", proxy, { id: "InferenceServing" });
  m.call(registry, "setModule", [encodeBytes32String("InferenceServing"), serving, SERVING_VERSION], {
    id: "RegisterInferenceServing",
  });
  return { registry, serving };
});
