import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";
import { encodeBytes32String, ZeroAddress } from "ethers";
import CoreModule from "../core/ignition";
import { staking } from "./module";

/** NodeStaking behind a UUPS proxy, registered in the registry as "NodeStaking". */
export default buildModule("staking", (m) => {
  const { registry } = m.useModule(CoreModule);
  const mode = m.getParameter<number>("mode", 0);
  const minStakes = m.getParameter<string[]>("minStakes", ["0", "0", "0", "0", "0"]);
  const unbondingDelay = m.getParameter<number>("unbondingDelay", 604_800);
  const slashParams = m.getParameter("slashParams", {
    reporterShareBps: 1000,
    jailPeriod: 86_400,
    treasury: ZeroAddress,
  });
  const { name, version } = staking.contracts.staking;

  const implementation = m.contract("NodeStaking", [], { id: "NodeStakingImplementation" });
  const initData = m.encodeFunctionCall(implementation, "initialize", [
    registry,
    mode,
    minStakes,
    unbondingDelay,
    slashParams,
  ]);
  const proxy = m.contract("ZgProxy", [implementation, initData], { id: "NodeStakingProxy" });
  const contract = m.contractAt("NodeStaking", proxy, { id: "NodeStaking" });
  m.call(registry, "setModule", [encodeBytes32String(name), contract, version], {
    id: "RegisterNodeStaking",
  });
  return { registry, staking: contract };
});
