import { encodeBytes32String, id, ZeroAddress, ZeroHash, type Signer } from "ethers";
import { AlignmentTimelock__factory, ModuleRegistry__factory } from "../../typechain-types";
import { ZgError } from "../core/errors";
import { alignment } from "./module";

/** The timelock's operation states (TimelockController.OperationState). */
const UNSET = 0n;
const READY = 2n;
const DONE = 3n;
/** The salt of the handover's one timelock operation (fixed, so that a re-run finds it). */
const SALT = id("zerog-stack alignment handover");

export interface HandoverResult {
  timelock: string;
  governor: string;
  /** Whether this run changed anything (false: the handover was already complete). */
  changed: boolean;
}

/**
 * Makes the AlignmentTimelock the registry owner and the governor its only proposer, idempotently: each step runs
 * only when the chain says it has not happened, so a re-run after an interruption finishes the job, and a re-run
 * after completion only verifies.
 *
 * 1. the registry (Ownable2Step) names the timelock its pending owner;
 * 2. the deployer, still the timelock's proposer and executor at a zero delay, schedules and executes one batch:
 *    `registry.acceptOwnership()` and `timelock.updateDelay(delay)`;
 * 3. the governor gets PROPOSER and CANCELLER, anyone (the zero address) EXECUTOR;
 * 4. the deployer renounces PROPOSER, CANCELLER, EXECUTOR and DEFAULT_ADMIN.
 * Then it checks: the registry owner is the timelock, the delay is `delay`, and the deployer holds no role.
 */
export async function handOverToTimelock(
  registryAddress: string,
  signer: Signer,
  delaySeconds: number,
): Promise<HandoverResult> {
  const deployer = await signer.getAddress();
  const registry = ModuleRegistry__factory.connect(registryAddress, signer);
  const timelockAddress = await registry.getModule(encodeBytes32String(alignment.contracts.timelock.name));
  const governor = await registry.getModule(encodeBytes32String(alignment.contracts.governor.name));
  const timelock = AlignmentTimelock__factory.connect(timelockAddress, signer);
  const [proposerRole, executorRole, cancellerRole, adminRole] = await Promise.all([
    timelock.PROPOSER_ROLE(),
    timelock.EXECUTOR_ROLE(),
    timelock.CANCELLER_ROLE(),
    timelock.DEFAULT_ADMIN_ROLE(),
  ]);
  let changed = false;
  const send = async (what: string, tx: Promise<{ wait(): Promise<unknown> }>) => {
    try {
      await (await tx).wait();
    } catch (error) {
      throw new ZgError(`alignment handover: ${what} failed: ${(error as Error).message.split("\n")[0]}`);
    }
    changed = true;
  };

  // 1. Offer the registry to the timelock.
  let owner = await registry.owner();
  if (owner !== timelockAddress) {
    if (owner !== deployer)
      throw new ZgError(
        `alignment handover: the registry is owned by ${owner}, neither the deployer ${deployer} nor the timelock`,
        "BAD_CONFIG",
      );
    if ((await registry.pendingOwner()) !== timelockAddress)
      await send("transferOwnership", registry.transferOwnership(timelockAddress));
  }

  // 2. The timelock accepts and sets its real delay, in one operation scheduled at the zero delay.
  owner = await registry.owner();
  const delay = BigInt(delaySeconds);
  const targets: string[] = [];
  const payloads: string[] = [];
  if (owner !== timelockAddress) {
    targets.push(registryAddress);
    payloads.push(registry.interface.encodeFunctionData("acceptOwnership"));
  }
  if ((await timelock.getMinDelay()) !== delay) {
    targets.push(timelockAddress);
    payloads.push(timelock.interface.encodeFunctionData("updateDelay", [delay]));
  }
  if (targets.length > 0) {
    if (
      !(await timelock.hasRole(proposerRole, deployer)) ||
      !(await timelock.hasRole(executorRole, deployer))
    )
      throw new ZgError(
        "alignment handover: the deployer no longer holds the timelock roles needed to finish (acceptOwnership, updateDelay): finish by a proposal",
        "BAD_CONFIG",
      );
    const values = targets.map(() => 0n);
    const operation = await timelock.hashOperationBatch(targets, values, payloads, ZeroHash, SALT);
    let state = await timelock.getOperationState(operation);
    if (state === UNSET) {
      await send(
        "schedule acceptOwnership/updateDelay",
        timelock.scheduleBatch(targets, values, payloads, ZeroHash, SALT, 0n),
      );
      state = await timelock.getOperationState(operation);
    }
    if (state === READY)
      await send(
        "execute acceptOwnership/updateDelay",
        timelock.executeBatch(targets, values, payloads, ZeroHash, SALT),
      );
    else if (state !== DONE)
      throw new ZgError(
        `alignment handover: the timelock operation is not ready (state ${state})`,
        "BAD_CONFIG",
      );
  }

  // 3. The governor proposes and cancels; anyone executes.
  for (const [role, account] of [
    [proposerRole, governor],
    [cancellerRole, governor],
    [executorRole, ZeroAddress],
  ] as const) {
    if (!(await timelock.hasRole(role, account))) {
      if (!(await timelock.hasRole(adminRole, deployer)))
        throw new ZgError("alignment handover: the deployer is no longer the timelock's admin", "BAD_CONFIG");
      await send("grantRole", timelock.grantRole(role, account));
    }
  }

  // 4. The deployer keeps nothing (admin last: it is what grants the others).
  for (const role of [proposerRole, cancellerRole, executorRole, adminRole]) {
    if (await timelock.hasRole(role, deployer))
      await send("renounceRole", timelock.renounceRole(role, deployer));
  }

  // Verify.
  const problems: string[] = [];
  if ((await registry.owner()) !== timelockAddress) problems.push("the registry owner is not the timelock");
  if ((await timelock.getMinDelay()) !== delay) problems.push(`the timelock delay is not ${delaySeconds} s`);
  for (const role of [proposerRole, cancellerRole, executorRole, adminRole])
    if (await timelock.hasRole(role, deployer)) problems.push(`the deployer still holds role ${role}`);
  if (!(await timelock.hasRole(proposerRole, governor))) problems.push("the governor is not a proposer");
  if (problems.length > 0)
    throw new ZgError(`alignment handover incomplete: ${problems.join("; ")}`, "BAD_CONFIG");
  return { timelock: timelockAddress, governor, changed };
}
