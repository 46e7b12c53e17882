/**
 * Gas of the DA contracts on the in-process Hardhat network: `attest` with 4, 32 and 100 signers all signing and
 * with 10% not signing (anchors: 0G's on-chain check per blob, EigenDA's worst case), `answer` of an availability
 * challenge with a real KZG opening, `freezeEpoch` at 100 signers, and `submit` of 1 and 34 blobs. Each figure is
 * the gas the network charged for one transaction (after refunds). `attestWith` gives `attest` what the SDK does: the
 * non-signers' keys and weights (checked against one slot each) and the hash-to-G1 witness.
 */
import { mine } from "@nomicfoundation/hardhat-network-helpers";
import { Mode } from "../test/helpers/staking-fixture";
import {
  addSigners,
  attestation,
  attestWith,
  deployDA,
  makePayload,
  openingAt,
  submitPayload,
  type DAFixture,
  type Operator,
} from "../test/da/da-fixture";
import type { Figure } from "./figure";

const ZG_PER_BLOB = { name: "0G on-chain check per blob", value: 1_130_000, unit: "gas" };
const EIGENDA_WORST = { name: "EigenDA worst case", value: 3_532_040, unit: "gas" };

async function gasOf(tx: Promise<{ wait(): Promise<{ gasUsed: bigint } | null> }>): Promise<number> {
  const receipt = await (await tx).wait();
  return Number(receipt!.gasUsed);
}

async function attestGas(
  f: DAFixture,
  operators: Operator[],
  epoch: bigint,
  label: string,
  nonSigners: number[],
) {
  const p = makePayload(label);
  await (await submitPayload(f, p)).wait();
  return gasOf(attestWith(f, p.id, epoch, attestation(f, p.id, epoch, operators, nonSigners)));
}

export async function daGas(): Promise<Figure[]> {
  const figures: Figure[] = [];
  for (const n of [4, 32, 100]) {
    const f = await deployDA(Mode.NATIVE);
    const operators = await addSigners(f, n);
    const epoch = await f.signers.currentEpoch();
    const freeze = await gasOf(f.signers.freezeEpoch());
    if (n === 100) figures.push({ name: "da-freezeEpoch-100-signers", value: freeze, unit: "gas" });
    figures.push({
      name: `da-attest-${n}-signers-all-signing`,
      value: await attestGas(f, operators, epoch, `all:${n}`, []),
      unit: "gas",
      anchor: ZG_PER_BLOB,
    });
    const missing = Array.from({ length: Math.max(1, Math.round(n / 10)) }, (_, i) => (i * 10 + 3) % n);
    figures.push({
      name: `da-attest-${n}-signers-${missing.length}-not-signing`,
      value: await attestGas(f, operators, epoch, `some:${n}`, missing),
      unit: "gas",
      anchor: EIGENDA_WORST,
    });
    if (n === 4) {
      const p = makePayload("challenged");
      await (await submitPayload(f, p)).wait();
      await (await attestWith(f, p.id, epoch, attestation(f, p.id, epoch, operators))).wait();
      const signer = operators[1].account;
      const { challengeBond } = await f.entrance.params();
      await (
        await f.entrance
          .connect(f.challenger)
          .challenge(p.id, p.commitments, p.length, 0, 1, { value: challengeBond })
      ).wait();
      await mine(1);
      const z = await f.entrance.challengePoint(p.id, signer.address);
      const [proof, y] = openingAt(p.blobs[0], z);
      figures.push({
        name: "da-answer",
        value: await gasOf(
          f.entrance.connect(signer).answer(p.id, signer.address, y, p.commitmentList[0], proof),
        ),
        unit: "gas",
        anchor: { name: "goal", value: 100_000, unit: "gas" },
      });
      for (const blobs of [1, 34]) {
        figures.push({
          name: `da-submit-${blobs}-blob${blobs > 1 ? "s" : ""}`,
          value: await gasOf(submitPayload(f, makePayload(`submit:${blobs}`, blobs))),
          unit: "gas",
        });
      }
    }
  }
  return figures;
}
