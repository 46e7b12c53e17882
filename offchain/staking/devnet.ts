import { formatEther } from "ethers";
import type { DevnetOperator, DevnetSetupContext } from "../core/module";
import { StakingClient } from "./client";

/**
 * Stakes every devnet worker's account in each role it serves: the role's minimum bond in native mode; admitted by
 * governance and joined without coin in permissioned mode.
 */
export async function stakeDevnetOperators(context: DevnetSetupContext): Promise<DevnetOperator[]> {
  const governance = await context.connect(context.governance.privateKey);
  const operators: DevnetOperator[] = [];
  try {
    const governanceStaking = await StakingClient.connect(governance);
    for (const { worker, roles, account } of context.accounts) {
      if (roles.length === 0) continue;
      const chain = await context.connect(account.privateKey);
      try {
        const staking = await StakingClient.connect(chain);
        for (const role of roles) {
          await staking.joinAtMinimum(role, governanceStaking);
          const status = await staking.status(account.address, role);
          operators.push({ ...account, role, worker, bonded: formatEther(status.bonded) });
        }
      } finally {
        chain.destroy();
      }
    }
  } finally {
    governance.destroy();
  }
  return operators;
}
