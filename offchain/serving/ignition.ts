import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";
import { encodeBytes32String } from "ethers";
import CoreModule from "../core/ignition";
import { serving } from "./module";

const { ledger: LEDGER, serving: SERVING } = serving.contracts;

/**
 * ServingLedger behind a UUPS proxy, registered as "ServingLedger": users' prepaid balances for inference. It
 * recognizes the serving module through the registry ("InferenceServing") at call time, so the two can be deployed
 * in either order. Left out of the `no-token` profile: without it services must be free.
 *
 * Parameters (module "servingLedger"):
 * - `lockTime`: seconds a refund stays locked, within [60, 30 days] (default 86,400).
 */
export const ServingLedgerModule = buildModule("servingLedger", (m) => {
  const { registry } = m.useModule(CoreModule);
  const lockTime = m.getParameter<number>("lockTime", 86_400);

  const implementation = m.contract("ServingLedger", [], { id: "ServingLedgerImplementation" });
  const initData = m.encodeFunctionCall(implementation, "initialize", [registry, lockTime]);
  const proxy = m.contract("ZgProxy", [implementation, initData], { id: "ServingLedgerProxy" });
  const ledger = m.contractAt("ServingLedger", proxy, { id: "ServingLedger" });
  m.call(registry, "setModule", [encodeBytes32String(LEDGER.name), ledger, LEDGER.version], {
    id: "RegisterServingLedger",
  });
  return { registry, ledger };
});

/**
 * InferenceServing behind a UUPS proxy, registered as "InferenceServing": the service registry and voucher
 * settlement. It finds NodeStaking (providers must be active in the PROVIDER role to register) and the
 * ServingLedger (to settle, and to accept paid services) through the registry at call time.
 */
export const InferenceServingModule = buildModule("serving", (m) => {
  const { registry } = m.useModule(CoreModule);

  const implementation = m.contract("InferenceServing", [], { id: "InferenceServingImplementation" });
  const initData = m.encodeFunctionCall(implementation, "initialize", [registry]);
  const proxy = m.contract("ZgProxy", [implementation, initData], { id: "InferenceServingProxy" });
  const contract = m.contractAt("InferenceServing", proxy, { id: "InferenceServing" });
  m.call(registry, "setModule", [encodeBytes32String(SERVING.name), contract, SERVING.version], {
    id: "RegisterInferenceServing",
  });
  return { registry, serving: contract };
});
