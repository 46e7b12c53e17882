import { StorageChallenges__factory, type StorageChallenges } from "../../typechain-types";
import type { ZgChain } from "../core/chain";
import { storage } from "./module";
import { decodeRevertData, ZgError } from "../core/errors";

/** One epoch of one node's challenges, as `zg storage challenges` shows it. */
export interface EpochChallenge {
  epoch: number;
  state: "open" | "answered" | "missed" | "none";
  dataRoot?: string;
  sectorIndex?: number;
  deadline?: number;
  /** Why there is no challenge (not started, void, nothing declared, jailed…). */
  reason?: string;
}

export interface ChallengeStatus {
  node: string;
  currentEpoch: number;
  declared: string[];
  epochs: EpochChallenge[];
  /** What `claim` would pay the node now for its answered epochs. */
  claimable: bigint;
}

/** The storage-challenge SDK: a node's challenges and rewards, and reporting a missed answer. */
export class ChallengesClient {
  private constructor(
    private readonly chain: ZgChain,
    readonly contract: StorageChallenges,
  ) {}

  static async connect(chain: ZgChain): Promise<ChallengesClient> {
    const address = await chain.moduleAddress(storage.contracts.challenges.name);
    return new ChallengesClient(chain, StorageChallenges__factory.connect(address, chain.runner));
  }

  /** The node's last `count` epochs: open, answered or missed challenges, and its claimable reward. */
  async status(node: string, count = 10): Promise<ChallengeStatus> {
    const currentEpoch = Number(await this.contract.currentEpoch());
    const head = await this.chain.provider.getBlockNumber();
    const epochs: EpochChallenge[] = [];
    for (let epoch = currentEpoch; epoch >= 0 && epoch > currentEpoch - count; epoch--) {
      try {
        const challenge = await this.contract.challengeOf(node, epoch);
        if (!challenge.active) {
          epochs.push({ epoch, state: "none", reason: "no challenge" });
          continue;
        }
        const answered = await this.contract.answered(node, epoch);
        const deadline = Number(challenge.deadline);
        epochs.push({
          epoch,
          state: answered ? "answered" : head > deadline ? "missed" : "open",
          dataRoot: challenge.dataRoot,
          sectorIndex: Number(challenge.sectorIndex),
          deadline,
        });
      } catch (error) {
        const data = (error as { data?: string }).data;
        epochs.push({
          epoch,
          state: "none",
          reason: decodeRevertData(data)?.replace(/\(.*$/, "") ?? "no challenge",
        });
      }
    }
    const answered = epochs.filter((e) => e.state === "answered").map((e) => e.epoch);
    let claimable = 0n;
    if (answered.length > 0) {
      claimable = await this.contract.claim.staticCall(answered, { from: node }).catch(() => 0n);
    }
    return { node, currentEpoch, declared: await this.contract.declaredRoots(node), epochs, claimable };
  }

  /** Reports a missed challenge: the node is slashed and the caller earns the reporter share. */
  async slashMissed(node: string, epoch: number) {
    return this.chain.send(`slash ${node} for epoch ${epoch}`, () => this.contract.slashMissed(node, epoch));
  }

  /** Claims the caller's rewards for answered epochs. */
  async claim(epochs: number[]) {
    if (epochs.length === 0) throw new ZgError("no answered epoch to claim", "BAD_INPUT");
    return this.chain.send(`claim rewards for ${epochs.length} epoch(s)`, () => this.contract.claim(epochs));
  }
}
