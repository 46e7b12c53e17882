import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";
import { encodeBytes32String } from "ethers";
import CoreModule from "../core/ignition";
import { alignment } from "./module";

const { license: LICENSE, policy: POLICY, governor: GOVERNOR, timelock: TIMELOCK } = alignment.contracts;

/**
 * Alignment licenses and the policy: AlignmentLicense and AlignmentPolicy (neither behind a proxy), registered
 * under the manifest's names. The deployer is the license's initial minter (it mints the initial distribution,
 * then `renounceMinter()`); governance (the registry owner) can always mint up to the cap.
 *
 * Parameters (module "alignment"): `maxSupply`, `soulboundSeconds`.
 */
export const LicenseModule = buildModule("alignment", (m) => {
  const { registry } = m.useModule(CoreModule);
  const deployer = m.getAccount(0);
  const maxSupply = m.getParameter<number>("maxSupply", 1000);
  const soulboundSeconds = m.getParameter<number>("soulboundSeconds", 0);

  const license = m.contract(LICENSE.name, [registry, maxSupply, soulboundSeconds, deployer]);
  const policy = m.contract(POLICY.name, [registry]);
  m.call(registry, "setModule", [encodeBytes32String(LICENSE.name), license, LICENSE.version], {
    id: "RegisterAlignmentLicense",
  });
  m.call(registry, "setModule", [encodeBytes32String(POLICY.name), policy, POLICY.version], {
    id: "RegisterAlignmentPolicy",
  });
  return { registry, license, policy };
});

/**
 * Governance: the AlignmentTimelock and the AlignmentGovernor (votes from the license), both registered.
 *
 * The timelock starts with the deployer as its only proposer, executor and admin and a zero delay: the ownership
 * handover (the manifest's `afterDeploy`, run once every module of the profile is registered) uses those roles to
 * make the timelock accept the registry's ownership and set its real delay, hands the roles to the governor (and
 * execution to anyone) and renounces every role of the deployer.
 *
 * Parameters (module "alignment_governance"): `votingDelayBlocks`, `votingPeriodBlocks`, `proposalThreshold`
 * (whole licenses), `quorumPercent`, `timelockDelaySeconds` (applied by the handover, not here).
 */
export const GovernanceModule = buildModule("alignment_governance", (m) => {
  const { registry, license } = m.useModule(LicenseModule);
  const deployer = m.getAccount(0);
  const votingDelayBlocks = m.getParameter<number>("votingDelayBlocks", 1);
  const votingPeriodBlocks = m.getParameter<number>("votingPeriodBlocks", 50_400);
  const proposalThreshold = m.getParameter<number>("proposalThreshold", 1);
  const quorumPercent = m.getParameter<number>("quorumPercent", 4);
  // Read so that every profile field is a declared parameter; the handover applies it.
  m.getParameter<number>("timelockDelaySeconds", 0);

  const timelock = m.contract(TIMELOCK.name, [0, [deployer], [deployer], deployer]);
  const governor = m.contract(GOVERNOR.name, [
    license,
    timelock,
    votingDelayBlocks,
    votingPeriodBlocks,
    proposalThreshold,
    quorumPercent,
  ]);
  m.call(registry, "setModule", [encodeBytes32String(TIMELOCK.name), timelock, TIMELOCK.version], {
    id: "RegisterAlignmentTimelock",
  });
  m.call(registry, "setModule", [encodeBytes32String(GOVERNOR.name), governor, GOVERNOR.version], {
    id: "RegisterAlignmentGovernor",
  });
  return { registry, license, timelock, governor };
});
