import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";
import { encodeBytes32String, ZeroAddress } from "ethers";
import CoreModule from "./Core";

export const STAKING_VERSION = "1.0.0";

/** NodeStaking behind a UUPS proxy, registered in the registry as "NodeStaking". */
export default buildModule("Staking", (m) => {
  const { registry } = m.useModule(CoreModule);
  const mode = m.getParameter<number>("mode", 0);
  const minStakes = m.getParameter<string[]>("minStakes", ["0", "0", "0", "0", "0"]);
  const unbondingDelay = m.getParameter<number>("unbondingDelay", 604_800);
  const slashParams = m.getParameter("slashParams", {
    reporterShareBps: 1000,
    jailPeriod: 86_400,
    treasury: ZeroAddress,
  });

  const implementation = m.contract("NodeStaking", [], { id: "NodeStakingImplementation" });
  const initData = m.encodeFunctionCall(implementation, "initialize", [
    registry,
    mode,
    minStakes,
    unbondingDelay,
    slashParams,
  ]);
  const proxy = m.contract("ZgProxy", [implementation, initData], { id: "NodeStakingProxy" });
  const staking = m.contractAt("NodeStaking", proxy, { id: "NodeStaking" });
  m.call(registry, "setModule", [encodeBytes32String("NodeStaking"), staking, STAKING_VERSION], {
    id: "RegisterNodeStaking",
  });
  return { registry, staking };
});
