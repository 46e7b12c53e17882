import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";

/** The ModuleRegistry every other module registers in; governance starts as the deployer. */
export default buildModule("core", (m) => {
  const governance = m.getAccount(0);
  const registry = m.contract("ModuleRegistry", [governance]);
  return { registry };
});
