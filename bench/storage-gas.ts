/**
 * Gas of `Flow.submit` for SDK-shaped submissions of 1, 2 and 4 nodes, on a young log and on a log grown past
 * 2^32 sectors by one height-32 submission, measured on the in-process Hardhat network.
 *
 * Each figure is the median gas of 9 later submissions of the same shape, after 16 warm-up submissions (so that
 * the frontier levels they touch are already written once, as on a live log). Price zero (the `no-token`
 * profile), plus the 1-node figures with a fee, where the Market is called and the pool grows.
 *
 * The 0G anchors are not measured here: they are the figures quoted in the issue for 0G's own Flow.
 */
import type {} from "@nomicfoundation/hardhat-ethers/internal/type-extensions";
import hre from "hardhat";
import {
  Flow__factory,
  Market__factory,
  ModuleRegistry__factory,
  ZgProxy__factory,
} from "../typechain-types";
import type { Flow } from "../typechain-types";
import type { Figure } from "./figure";

/** 0G's Flow behind its deploy's proxy, as quoted in the issue (0G's contracts cannot be deployed here). */
const ZEROG_ANCHORS: Record<string, number> = {
  "flow-submit-1-node-young": 178_000,
  "flow-submit-1-node-2^32-log": 294_000,
  "flow-submit-4-nodes-young": 236_000,
  "flow-submit-4-nodes-2^32-log": 341_000,
};

/** What the SDK makes of a 4 KiB, a 5 KiB and a 15 KiB file. */
const SHAPES: { label: string; heights: number[] }[] = [
  { label: "1-node", heights: [4] },
  { label: "2-nodes", heights: [4, 2] },
  { label: "4-nodes", heights: [5, 4, 3, 2] },
];
const WARM_UP = 16;
const SAMPLES = 9;
const PRICE = 1_000_000_000n;

let labelCounter = 0;

function submission(heights: number[]) {
  const tag = labelCounter++;
  const sectors = heights.reduce((sum, h) => sum + (1n << BigInt(h)), 0n);
  return {
    data: {
      length: sectors * 256n,
      tags: "0x",
      nodes: heights.map((height, i) => ({ root: hre.ethers.id(`bench:${tag}:${i}`), height })),
    },
    submitter: hre.ethers.ZeroAddress,
  };
}

async function deploy(price: bigint): Promise<Flow> {
  const [governance] = await hre.ethers.getSigners();
  const registry = await new ModuleRegistry__factory(governance).deploy(governance.address);
  const registryAddress = await registry.getAddress();
  const marketImplementation = await new Market__factory(governance).deploy();
  const marketProxy = await new ZgProxy__factory(governance).deploy(
    await marketImplementation.getAddress(),
    marketImplementation.interface.encodeFunctionData("initialize", [registryAddress, price]),
  );
  const marketAddress = await marketProxy.getAddress();
  const flowImplementation = await new Flow__factory(governance).deploy(marketAddress);
  const flowProxy = await new ZgProxy__factory(governance).deploy(
    await flowImplementation.getAddress(),
    flowImplementation.interface.encodeFunctionData("initialize", [registryAddress]),
  );
  const flowAddress = await flowProxy.getAddress();
  await (await registry.setModule(hre.ethers.encodeBytes32String("Market"), marketAddress, "1.0.0")).wait();
  await (await registry.setModule(hre.ethers.encodeBytes32String("Flow"), flowAddress, "1.0.0")).wait();
  return Flow__factory.connect(flowAddress, governance);
}

async function submitGas1(flow: Flow, heights: number[], price: bigint): Promise<number> {
  const s = submission(heights);
  const fee = s.data.nodes.reduce((sum, n) => sum + (1n << BigInt(n.height)), 0n) * price;
  const receipt = await (await flow.submit(s, { value: fee })).wait();
  return Number(receipt!.gasUsed);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function measure(flow: Flow, heights: number[], price: bigint): Promise<number> {
  for (let i = 0; i < WARM_UP; i++) await submitGas1(flow, heights, price);
  const samples: number[] = [];
  for (let i = 0; i < SAMPLES; i++) samples.push(await submitGas1(flow, heights, price));
  return median(samples);
}

/** Measures every figure on fresh deployments; the four 0G figures quoted in the issue ride along as anchors. */
export async function submitGas(): Promise<Figure[]> {
  const figures: Figure[] = [];
  for (const log of ["young", "2^32-log"] as const) {
    for (const { label, heights } of SHAPES) {
      const flow = await deploy(0n);
      // One height-32 node aligns to 2^32 and pads the log up to it: the log then holds 2^33 sectors.
      if (log === "2^32-log") await submitGas1(flow, [32], 0n);
      figures.push({
        name: `flow-submit-${label}-${log}`,
        value: await measure(flow, heights, 0n),
        unit: "gas",
      });
    }
    const priced = await deploy(PRICE);
    if (log === "2^32-log") await submitGas1(priced, [32], PRICE);
    figures.push({
      name: `flow-submit-1-node-${log}-with-fee`,
      value: await measure(priced, [4], PRICE),
      unit: "gas",
    });
  }
  return figures.map((figure) =>
    figure.name in ZEROG_ANCHORS
      ? {
          ...figure,
          anchor: { name: "0G Flow (issue's quoted figure)", value: ZEROG_ANCHORS[figure.name], unit: "gas" },
        }
      : figure,
  );
}
