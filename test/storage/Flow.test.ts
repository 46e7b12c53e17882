/**
 * Unit, compatibility and property tests of the storage log (Flow).
 *
 * The reference model below is written from the rules, not from the contract: placement follows 0G's rules
 * (align the first node to its size, move a submission that would straddle a 1024-sector segment to the next
 * one), and the flow root is computed top-down over the whole zero-padded sector tree, where the contract folds
 * a frontier. SDK compatibility is checked with the official `@0gfoundation/0g-ts-sdk` itself: its MemData
 * builds the submissions and the file roots, its FixedPriceFlow contract object sends them, and its interface
 * decodes our `Submit` event.
 */
import { expect } from "chai";
import fc from "fast-check";
import { ethers } from "hardhat";
import { loadFixture, setCode, setStorageAt } from "@nomicfoundation/hardhat-network-helpers";
import { anyValue } from "@nomicfoundation/hardhat-chai-matchers/withArgs";
import type { ContractTransactionReceipt } from "ethers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import {
  FixedPriceFlow__factory,
  MemData,
  calculatePrice,
  getFlowContract,
  getMarketContract,
} from "@0gfoundation/0g-ts-sdk";
import { Flow__factory, ZgProxy__factory, type Flow } from "../../typechain-types";
import {
  PRICE,
  SECTOR_BYTES,
  deployFreeStorageFixture,
  deployPricedStorageFixture,
  nodeRoot,
  sectorsOf,
  submissionOf,
  type StorageFixture,
  type SubmissionStruct,
} from "./flow-fixture";
import { impersonatedAccount } from "../helpers/chain";

const NUM_RUNS = Number(process.env.NUM_RUNS ?? 100);
/** Runtime code that reverts on any call: PUSH0 PUSH0 REVERT. */
const REVERTING_CODE = "0x5f5ffd";
const UINT64_MAX = (1n << 64n) - 1n;
/** The Flow's ERC-7201 storage base: keccak256(abi.encode(uint256(keccak256("zerog.storage.Flow")) - 1)) & ~0xff. */
const FLOW_STORAGE_SLOT = "0xf73f4686d5966291bd9f5e5f00b6118dfabaebf92de8507e8487c625ee5f7000";

// ─── Reference model ──────────────────────────────────────────────────────────────────────────────

const SEGMENT = 1024n;
const PLACEHOLDER = ethers.ZeroHash;

function hashPair(left: string, right: string): string {
  return ethers.keccak256(ethers.concat([left, right]));
}

/** ZERO_HASHES[k]: root of an empty subtree of height k; ZERO_HASHES[0] = keccak256 of 256 zero bytes. */
const ZERO_HASHES: string[] = [ethers.keccak256(new Uint8Array(256))];
for (let k = 1; k <= 64; k++) ZERO_HASHES.push(hashPair(ZERO_HASHES[k - 1], ZERO_HASHES[k - 1]));

interface RefNode {
  root: string;
  height: number;
}

/** 0G's digest (the `identity` topic): keccak256 of the concatenated node roots. */
function digestOf(nodes: readonly RefNode[]): string {
  return ethers.keccak256(ethers.concat(nodes.map((n) => n.root)));
}

/** The data root: the node roots joined right to left (what the SDK's unbalanced tree yields). */
function dataRootOf(nodes: readonly RefNode[]): string {
  let root = nodes[nodes.length - 1].root;
  for (let i = nodes.length - 2; i >= 0; i--) root = hashPair(nodes[i].root, root);
  return root;
}

interface Placement {
  before: bigint;
  startPos: bigint;
  sectors: bigint;
}

/** The log as a list of placed subtrees; its root is computed top-down from the definition. */
class ReferenceLog {
  length = 1n;
  private readonly placed = new Map<string, string>();
  private readonly ranges: { start: bigint; end: bigint }[] = [];

  submit(nodes: readonly RefNode[]): Placement {
    const before = this.length;
    const sectors = sectorsOf(nodes.map((n) => n.height));
    const size = 1n << BigInt(nodes[0].height);
    let startPos = ((before + size - 1n) / size) * size;
    if (startPos % SEGMENT !== 0n && startPos / SEGMENT !== (startPos + sectors - 1n) / SEGMENT) {
      startPos = (startPos / SEGMENT + 1n) * SEGMENT;
    }
    let position = startPos;
    for (const node of nodes) {
      this.placed.set(`${position}:${node.height}`, node.root);
      position += 1n << BigInt(node.height);
    }
    this.ranges.push({ start: startPos, end: position });
    this.length = position;
    return { before, startPos, sectors };
  }

  root(): string {
    let height = 0;
    while (1n << BigInt(height) < this.length) height++;
    return this.subtree(height, 0n);
  }

  private subtree(height: number, index: bigint): string {
    const start = index << BigInt(height);
    const end = start + (1n << BigInt(height));
    const exact = this.placed.get(`${start}:${height}`);
    if (exact !== undefined) return exact;
    if (height === 0) return start === 0n ? PLACEHOLDER : ZERO_HASHES[0];
    const holdsData = start === 0n || this.ranges.some((r) => r.start < end && r.end > start);
    if (!holdsData) return ZERO_HASHES[height];
    return hashPair(this.subtree(height - 1, index * 2n), this.subtree(height - 1, index * 2n + 1n));
  }
}

// ─── Helpers ──────────────────────────────────────────────────────────────────────────────────────

function refNodes(submission: SubmissionStruct): RefNode[] {
  return submission.data.nodes.map((n) => ({ root: ethers.hexlify(n.root), height: Number(n.height) }));
}

function withLength(heights: number[], length: bigint, label = "len"): SubmissionStruct {
  return submissionOf(heights, label, length);
}

/** The parsed `Submit` events of a receipt, in order. */
function submitEvents(flow: Flow, receipt: ContractTransactionReceipt | null) {
  const flowAddress = String(flow.target).toLowerCase();
  return (receipt?.logs ?? [])
    .filter((log) => log.address.toLowerCase() === flowAddress)
    .map((log) => flow.interface.parseLog(log))
    .filter((parsed) => parsed?.name === "Submit")
    .map((parsed) => parsed!.args);
}

async function submitAs(
  f: StorageFixture,
  signer: HardhatEthersSigner,
  submission: SubmissionStruct,
  extra = 0n,
): Promise<ContractTransactionReceipt | null> {
  const fee = sectorsOf(refNodes(submission).map((n) => n.height)) * f.price;
  return (await f.flow.connect(signer).submit(submission, { value: fee + extra })).wait();
}

/** Deterministic, non-trivial file contents. */
function fileBytes(size: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(size);
  let x = seed * 2654435761;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    bytes[i] = x >>> 24;
  }
  return bytes;
}

describe("Flow", function () {
  describe("initialize", function () {
    it("initialize: starts an empty log of length 1 whose root is the placeholder", async function () {
      const { flow, registry, marketAddress } = await loadFixture(deployFreeStorageFixture);
      expect(await flow.registry()).to.equal(await registry.getAddress());
      expect(await flow.market()).to.equal(marketAddress);
      expect(await flow.flowLength()).to.equal(1n);
      expect(await flow.numSubmissions()).to.equal(0n);
      expect(await flow.flowRoot()).to.equal(PLACEHOLDER);
      expect(await flow.paused()).to.equal(false);
      expect(await flow.pricePerSector()).to.equal(0n);
    });

    it("initialize: copies the Market's price", async function () {
      const { flow } = await loadFixture(deployPricedStorageFixture);
      expect(await flow.pricePerSector()).to.equal(PRICE);
    });

    it("initialize: cannot be called twice", async function () {
      const { flow, registry } = await loadFixture(deployFreeStorageFixture);
      await expect(flow.initialize(await registry.getAddress())).to.be.revertedWithCustomError(
        flow,
        "InvalidInitialization",
      );
    });

    it("initialize: the implementation cannot be initialized", async function () {
      const { flowImplementation, registry } = await loadFixture(deployFreeStorageFixture);
      await expect(flowImplementation.initialize(await registry.getAddress())).to.be.revertedWithCustomError(
        flowImplementation,
        "InvalidInitialization",
      );
    });

    it("initialize: a zero registry reverts FlowZeroAddress", async function () {
      const { flowImplementation, governance } = await loadFixture(deployFreeStorageFixture);
      const initData = flowImplementation.interface.encodeFunctionData("initialize", [ethers.ZeroAddress]);
      await expect(
        new ZgProxy__factory(governance).deploy(await flowImplementation.getAddress(), initData),
      ).to.be.revertedWithCustomError(flowImplementation, "FlowZeroAddress");
    });

    it("constructor: a zero market reverts FlowZeroAddress", async function () {
      const { governance, flow } = await loadFixture(deployFreeStorageFixture);
      await expect(new Flow__factory(governance).deploy(ethers.ZeroAddress)).to.be.revertedWithCustomError(
        flow,
        "FlowZeroAddress",
      );
    });
  });

  describe("submit: validation", function () {
    it("submit: zero nodes reverts FlowEmptySubmission", async function () {
      const { flow, alice } = await loadFixture(deployFreeStorageFixture);
      const submission = { data: { length: 1n, tags: "0x", nodes: [] }, submitter: alice.address };
      await expect(flow.connect(alice).submit(submission)).to.be.revertedWithCustomError(
        flow,
        "FlowEmptySubmission",
      );
    });

    it("submit: a first height of 64 reverts FlowHeightTooLarge", async function () {
      const { flow, alice } = await loadFixture(deployFreeStorageFixture);
      await expect(flow.connect(alice).submit(withLength([64], 1n << 72n)))
        .to.be.revertedWithCustomError(flow, "FlowHeightTooLarge")
        .withArgs(64);
    });

    it("submit: a huge height reverts FlowHeightTooLarge, not an overflow", async function () {
      const { flow, alice } = await loadFixture(deployFreeStorageFixture);
      const submission = {
        data: { length: 1n, tags: "0x", nodes: [{ root: nodeRoot(1), height: ethers.MaxUint256 }] },
        submitter: alice.address,
      };
      await expect(flow.connect(alice).submit(submission))
        .to.be.revertedWithCustomError(flow, "FlowHeightTooLarge")
        .withArgs(ethers.MaxUint256);
    });

    it("submit: equal heights revert FlowHeightsNotDecreasing", async function () {
      const { flow, alice } = await loadFixture(deployFreeStorageFixture);
      await expect(flow.connect(alice).submit(withLength([3, 3], 16n * SECTOR_BYTES)))
        .to.be.revertedWithCustomError(flow, "FlowHeightsNotDecreasing")
        .withArgs(1, 3, 3);
    });

    it("submit: increasing heights revert FlowHeightsNotDecreasing at the first offender", async function () {
      const { flow, alice } = await loadFixture(deployFreeStorageFixture);
      await expect(flow.connect(alice).submit(withLength([5, 3, 4], 44n * SECTOR_BYTES)))
        .to.be.revertedWithCustomError(flow, "FlowHeightsNotDecreasing")
        .withArgs(2, 4, 3);
    });

    it("submit: heights spanning 4 levels revert FlowHeightSpreadTooLarge", async function () {
      const { flow, alice } = await loadFixture(deployFreeStorageFixture);
      await expect(flow.connect(alice).submit(withLength([5, 1], 34n * SECTOR_BYTES)))
        .to.be.revertedWithCustomError(flow, "FlowHeightSpreadTooLarge")
        .withArgs(5, 1);
    });

    it("submit: heights spanning 3 levels are accepted", async function () {
      const f = await loadFixture(deployFreeStorageFixture);
      await expect(f.flow.connect(f.alice).submit(withLength([5, 4, 3, 2], 60n * SECTOR_BYTES))).to.emit(
        f.flow,
        "Submit",
      );
    });

    it("submit: a length above the capacity reverts FlowLengthExceedsCapacity", async function () {
      const { flow, alice } = await loadFixture(deployFreeStorageFixture);
      await expect(flow.connect(alice).submit(withLength([2], 4n * SECTOR_BYTES + 1n)))
        .to.be.revertedWithCustomError(flow, "FlowLengthExceedsCapacity")
        .withArgs(4n * SECTOR_BYTES + 1n, 4n * SECTOR_BYTES);
    });

    it("submit: below 16 sectors, an empty last sector reverts FlowTooMuchPadding", async function () {
      const { flow, alice } = await loadFixture(deployFreeStorageFixture);
      // 5 sectors: the data must reach into the fifth.
      await expect(flow.connect(alice).submit(withLength([2, 0], 4n * SECTOR_BYTES)))
        .to.be.revertedWithCustomError(flow, "FlowTooMuchPadding")
        .withArgs(4n * SECTOR_BYTES, 4n * SECTOR_BYTES + 1n);
      await expect(flow.connect(alice).submit(withLength([2, 0], 4n * SECTOR_BYTES + 1n))).to.emit(
        flow,
        "Submit",
      );
    });

    it("submit: a single node more than 1/16 empty reverts FlowTooMuchPadding", async function () {
      const { flow, alice } = await loadFixture(deployFreeStorageFixture);
      // 32 sectors: at most 2 may be empty, so the data must exceed 30 sectors.
      await expect(flow.connect(alice).submit(withLength([5], 30n * SECTOR_BYTES)))
        .to.be.revertedWithCustomError(flow, "FlowTooMuchPadding")
        .withArgs(30n * SECTOR_BYTES, 30n * SECTOR_BYTES + 1n);
      await expect(flow.connect(alice).submit(withLength([5], 30n * SECTOR_BYTES + 1n))).to.emit(
        flow,
        "Submit",
      );
    });

    it("submit: several nodes leaving more than 2^(first height - 3) sectors empty revert FlowTooMuchPadding", async function () {
      const { flow, alice } = await loadFixture(deployFreeStorageFixture);
      // [16, 2] sectors = 18: at most 2^(4-3) = 2 may be empty, so the data must exceed 16 sectors.
      await expect(flow.connect(alice).submit(withLength([4, 1], 16n * SECTOR_BYTES)))
        .to.be.revertedWithCustomError(flow, "FlowTooMuchPadding")
        .withArgs(16n * SECTOR_BYTES, 16n * SECTOR_BYTES + 1n);
      await expect(flow.connect(alice).submit(withLength([4, 1], 16n * SECTOR_BYTES + 1n))).to.emit(
        flow,
        "Submit",
      );
    });

    it("submit: a zero length reverts FlowTooMuchPadding", async function () {
      const { flow, alice } = await loadFixture(deployFreeStorageFixture);
      await expect(flow.connect(alice).submit(withLength([0], 0n)))
        .to.be.revertedWithCustomError(flow, "FlowTooMuchPadding")
        .withArgs(0, 1);
    });

    it("submit: a submission that would take the log past 2^64 sectors reverts FlowLogFull", async function () {
      const { flow, alice } = await loadFixture(deployFreeStorageFixture);
      // A height-63 node aligns to 2^63 and would end at 2^64.
      await expect(flow.connect(alice).submit(withLength([63], 1n << 71n)))
        .to.be.revertedWithCustomError(flow, "FlowLogFull")
        .withArgs(1n << 64n);
    });

    it("submit: a node of height 62 fills the log up to 2^63 sectors", async function () {
      const { flow, alice } = await loadFixture(deployFreeStorageFixture);
      await flow.connect(alice).submit(withLength([62], 1n << 70n));
      expect(await flow.flowLength()).to.equal(1n << 63n);
      expect(1n << 63n).to.be.lessThan(UINT64_MAX);
    });
  });

  describe("submit", function () {
    it("submit: emits Submit with sender, identity, index, start position, sectors and the data", async function () {
      const f = await loadFixture(deployFreeStorageFixture);
      const submission = submissionOf([3, 1], "event", 9n * SECTOR_BYTES + 1n, f.bob.address);
      const nodes = refNodes(submission);
      await expect(f.flow.connect(f.alice).submit(submission))
        .to.emit(f.flow, "Submit")
        .withArgs(f.alice.address, digestOf(nodes), 0, 8, 10, anyValue);
      const receipt = await (await f.flow.connect(f.alice).submit(submissionOf([0], "second"))).wait();
      const [event] = submitEvents(f.flow, receipt);
      expect(event.submissionIndex).to.equal(1n);
      expect(event.startPos).to.equal(18n);
      // `length` is also the name of the Result arrays' own property: read those two fields by position.
      expect(event[4]).to.equal(1n);
      expect(event.submission[0]).to.equal(SECTOR_BYTES);
      expect(event.submission.tags).to.equal("0x");
      expect(event.submission.nodes.map((n: { root: string }) => n.root)).to.deep.equal([
        nodeRoot("second/0"),
      ]);
    });

    it("submit: returns index, digest, start index and sector count", async function () {
      const f = await loadFixture(deployFreeStorageFixture);
      const submission = submissionOf([2, 0], "ret", 5n * SECTOR_BYTES);
      // Typechain types this result `never` (a field named `length` clashes with the tuple's): read it by position.
      const result: unknown = await f.flow.connect(f.alice).submit.staticCall(submission);
      const [index, digest, startIndex, sectors] = result as [bigint, string, bigint, bigint];
      expect(index).to.equal(0n);
      expect(digest).to.equal(digestOf(refNodes(submission)));
      expect(startIndex).to.equal(4n);
      expect(sectors).to.equal(5n);
    });

    it("submit: tags are emitted as given", async function () {
      const f = await loadFixture(deployFreeStorageFixture);
      const submission = submissionOf([1], "tags");
      submission.data.tags = "0xdeadbeef00";
      const [event] = submitEvents(f.flow, await submitAs(f, f.alice, submission));
      expect(event.submission.tags).to.equal("0xdeadbeef00");
    });

    it("submit: places nodes at multiples of their size and skips to the next segment as 0G does", async function () {
      const f = await loadFixture(deployFreeStorageFixture);
      // [heights, expected start, expected length after]
      const steps: [number[], bigint, bigint][] = [
        [[0], 1n, 2n], // right after the placeholder
        [[2], 4n, 8n], // aligned to 4: sectors 2 and 3 are padding
        [[3, 0], 8n, 17n], // 9 sectors inside segment 0
        [[10], 1024n, 2048n], // one full segment, aligned to 1024
        [[4], 2048n, 2064n],
        [[9, 8], 3072n, 3840n], // would start at 2560 and straddle 3072: moves to the next segment
        [[5], 3840n, 3872n], // ends exactly at the segment boundary: stays
        [[8], 4096n, 4352n], // aligned to 256 = the segment start
        [[7, 6, 5], 4352n, 4576n], // three nodes, one segment
        [[4, 3], 4576n, 4600n], // not aligned to a segment but within one
      ];
      const reference = new ReferenceLog();
      for (const [i, [heights, start, after]] of steps.entries()) {
        const submission = submissionOf(heights, `place-${i}`);
        const placement = reference.submit(refNodes(submission));
        expect(placement.startPos).to.equal(start, `reference start of step ${i}`);
        const [event] = submitEvents(f.flow, await submitAs(f, f.alice, submission));
        expect(event.startPos).to.equal(start, `start of step ${i}`);
        expect(await f.flow.flowLength()).to.equal(after, `length after step ${i}`);
        expect(await f.flow.flowRoot()).to.equal(reference.root(), `root after step ${i}`);
      }
      expect(await f.flow.numSubmissions()).to.equal(BigInt(steps.length));
    });

    it("submit: the flow root equals the reference tree for small logs, sector by sector", async function () {
      const f = await loadFixture(deployFreeStorageFixture);
      const reference = new ReferenceLog();
      for (let i = 0; i < 20; i++) {
        const submission = submissionOf([i % 3], `tiny-${i}`);
        reference.submit(refNodes(submission));
        await submitAs(f, f.alice, submission);
        expect(await f.flow.flowRoot()).to.equal(reference.root());
      }
    });

    it("submit: the flow root of one sector after the placeholder is keccak256(0x0 ‖ node root)", async function () {
      const f = await loadFixture(deployFreeStorageFixture);
      await submitAs(f, f.alice, submissionOf([0], "one"));
      expect(await f.flow.flowRoot()).to.equal(hashPair(PLACEHOLDER, nodeRoot("one/0")));
    });

    it("submit: a height-32 node on a fresh log pads with empty subtrees and grows the log to 2^33", async function () {
      const f = await loadFixture(deployFreeStorageFixture);
      const reference = new ReferenceLog();
      const huge = submissionOf([32], "huge");
      reference.submit(refNodes(huge));
      const [event] = submitEvents(f.flow, await submitAs(f, f.alice, huge));
      expect(event.startPos).to.equal(1n << 32n);
      expect(await f.flow.flowLength()).to.equal(1n << 33n);
      // Left half: the placeholder and 2^32 - 1 empty sectors.
      let left = PLACEHOLDER;
      for (let k = 0; k < 32; k++) left = hashPair(left, ZERO_HASHES[k]);
      expect(await f.flow.flowRoot()).to.equal(hashPair(left, nodeRoot("huge/0")));
      expect(await f.flow.flowRoot()).to.equal(reference.root());
      for (let i = 0; i < 5; i++) {
        const next = submissionOf([3 - (i % 3), 0], `after-${i}`);
        reference.submit(refNodes(next));
        await submitAs(f, f.alice, next);
        expect(await f.flow.flowRoot()).to.equal(reference.root());
      }
    });

    it("submit: price zero moves no coin and does not call the Market", async function () {
      const f = await loadFixture(deployFreeStorageFixture);
      const tx = f.flow.connect(f.alice).submit(submissionOf([4], "free"));
      await expect(tx).to.changeEtherBalances([f.alice, f.market, f.flow], [0, 0, 0]);
      await expect(tx).not.to.emit(f.market, "FeeCharged");
      expect(await f.market.rewardPool()).to.equal(0n);
    });

    it("submit: price zero returns any coin sent", async function () {
      const f = await loadFixture(deployFreeStorageFixture);
      await expect(
        f.flow.connect(f.alice).submit(submissionOf([4], "free-tip"), { value: 12345n }),
      ).to.changeEtherBalances([f.alice, f.market, f.flow], [0, 0, 0]);
    });

    it("submit: sends sectors × price to the Market's reward pool with the padding it skipped", async function () {
      const f = await loadFixture(deployPricedStorageFixture);
      await submitAs(f, f.alice, submissionOf([0], "first"));
      // Log length 2; a [2] node aligns to 4: 2 sectors of padding, 4 charged.
      const fee = 4n * PRICE;
      const tx = f.flow.connect(f.alice).submit(submissionOf([2], "priced"), { value: fee });
      await expect(tx).to.changeEtherBalances([f.alice, f.market, f.flow], [-fee, fee, 0]);
      await expect(tx).to.emit(f.market, "FeeCharged").withArgs(f.flowAddress, 2, 4, 2, fee);
      expect(await f.market.rewardPool()).to.equal(5n * PRICE);
    });

    it("submit: returns the excess over the fee to the sender", async function () {
      const f = await loadFixture(deployPricedStorageFixture);
      const fee = 16n * PRICE;
      await expect(
        f.flow.connect(f.alice).submit(submissionOf([4], "excess"), { value: fee + 777n }),
      ).to.changeEtherBalances([f.alice, f.market, f.flow], [-fee, fee, 0]);
    });

    it("submit: msg.value below the fee reverts FlowInsufficientFee", async function () {
      const f = await loadFixture(deployPricedStorageFixture);
      const fee = 18n * PRICE;
      await expect(f.flow.connect(f.alice).submit(submissionOf([4, 1], "short"), { value: fee - 1n }))
        .to.be.revertedWithCustomError(f.flow, "FlowInsufficientFee")
        .withArgs(fee, fee - 1n);
      await expect(f.flow.connect(f.alice).submit(submissionOf([4, 1], "none")))
        .to.be.revertedWithCustomError(f.flow, "FlowInsufficientFee")
        .withArgs(fee, 0);
    });

    it("submit: an excess the sender cannot receive reverts FlowRefundFailed", async function () {
      const f = await loadFixture(deployPricedStorageFixture);
      const sender = await impersonatedAccount();
      await setCode(sender.address, REVERTING_CODE);
      const fee = 16n * PRICE;
      await expect(f.flow.connect(sender).submit(submissionOf([4], "refund"), { value: fee + 1n }))
        .to.be.revertedWithCustomError(f.flow, "FlowRefundFailed")
        .withArgs(sender.address, 1n);
      // The exact fee needs no refund.
      await expect(f.flow.connect(sender).submit(submissionOf([4], "refund"), { value: fee })).to.emit(
        f.flow,
        "Submit",
      );
    });

    it("submit: while paused reverts FlowPaused", async function () {
      const f = await loadFixture(deployFreeStorageFixture);
      await f.flow.pause();
      await expect(f.flow.connect(f.alice).submit(submissionOf([1], "paused"))).to.be.revertedWithCustomError(
        f.flow,
        "FlowPaused",
      );
    });
  });

  describe("data roots", function () {
    it("dataRootOf: one node is its own root; several are joined right to left", async function () {
      const { flow } = await loadFixture(deployFreeStorageFixture);
      for (const heights of [[7], [7, 6], [7, 5, 4], [7, 6, 5, 4]]) {
        const nodes = refNodes(submissionOf(heights, "fold"));
        expect(await flow.dataRootOf(nodes)).to.equal(dataRootOf(nodes));
      }
      const [a, b, c] = refNodes(submissionOf([7, 6, 5], "fold"));
      expect(await flow.dataRootOf([a, b, c])).to.equal(hashPair(a.root, hashPair(b.root, c.root)));
    });

    it("dataRootOf: no node reverts FlowEmptySubmission", async function () {
      const { flow } = await loadFixture(deployFreeStorageFixture);
      await expect(flow.dataRootOf([])).to.be.revertedWithCustomError(flow, "FlowEmptySubmission");
    });

    it("isSubmitted / submissionOf: a submitted data root is found with its first placement", async function () {
      const f = await loadFixture(deployFreeStorageFixture);
      await submitAs(f, f.alice, submissionOf([0], "before"));
      const submission = submissionOf([6, 5, 3], "record", (64n + 32n + 7n) * SECTOR_BYTES + 3n);
      const root = dataRootOf(refNodes(submission));
      expect(await f.flow.isSubmitted(root)).to.equal(false);
      await submitAs(f, f.alice, submission);
      expect(await f.flow.isSubmitted(root)).to.equal(true);
      const info = await f.flow.submissionOf(root);
      expect(info.firstIndex).to.equal(1n);
      expect(info.submissions).to.equal(1n);
      expect(info.startPosition).to.equal(64n);
      expect(info.sectors).to.equal(104n);
      expect(info.byteLength).to.equal((64n + 32n + 7n) * SECTOR_BYTES + 3n);
      expect(info.heights).to.deep.equal([6n, 5n, 3n]);
      // A node root alone is not a data root of this submission.
      expect(await f.flow.isSubmitted(nodeRoot("record/0"))).to.equal(false);
    });

    it("submissionOf: an unknown root reverts FlowUnknownRoot", async function () {
      const { flow } = await loadFixture(deployFreeStorageFixture);
      await expect(flow.submissionOf(nodeRoot("nothing")))
        .to.be.revertedWithCustomError(flow, "FlowUnknownRoot")
        .withArgs(nodeRoot("nothing"));
    });

    it("submit: the same data root again is appended, counted and marked duplicate", async function () {
      const f = await loadFixture(deployFreeStorageFixture);
      const submission = submissionOf([3], "dup");
      const root = dataRootOf(refNodes(submission));
      await submitAs(f, f.alice, submission);
      await submitAs(f, f.bob, submissionOf([3], "other"));
      const [event] = submitEvents(f.flow, await submitAs(f, f.bob, submission));
      expect(event.submissionIndex).to.equal(2n);
      expect(event.startPos).to.equal(24n);
      const info = await f.flow.submissionOf(root);
      expect(info.firstIndex).to.equal(0n);
      expect(info.submissions).to.equal(2n);
      expect(info.startPosition).to.equal(8n);
      expect(await f.flow.isDuplicate(0)).to.equal(false);
      expect(await f.flow.isDuplicate(1)).to.equal(false);
      expect(await f.flow.isDuplicate(2)).to.equal(true);
      expect(await f.flow.isDuplicate(3)).to.equal(false);
    });
    it("submit: a data root already counted 2^40 - 1 times reverts FlowTooManyDuplicates", async function () {
      const f = await loadFixture(deployFreeStorageFixture);
      const submission = submissionOf([2], "many");
      const root = dataRootOf(refNodes(submission));
      await submitAs(f, f.alice, submission);
      // records[root] lives at keccak256(root ‖ (ERC-7201 base + 66)): slot 0 holds the hot fields, slot 1 the
      // registry, slots 2-65 the frontier. Set its 40-bit count (bits 64-103) to the maximum.
      const base = BigInt(FLOW_STORAGE_SLOT) + 66n;
      const slot = ethers.keccak256(
        ethers.AbiCoder.defaultAbiCoder().encode(["bytes32", "uint256"], [root, base]),
      );
      const record = BigInt(await ethers.provider.getStorage(f.flowAddress, slot));
      expect((record >> 64n) & ((1n << 40n) - 1n)).to.equal(1n);
      await setStorageAt(f.flowAddress, slot, record | (((1n << 40n) - 1n) << 64n));
      expect((await f.flow.submissionOf(root)).submissions).to.equal((1n << 40n) - 1n);
      await expect(f.flow.connect(f.alice).submit(submission))
        .to.be.revertedWithCustomError(f.flow, "FlowTooManyDuplicates")
        .withArgs(root);
    });
  });

  describe("SDK compatibility", function () {
    // 1 sector; one sector short, exact and one byte over; a full segment and one byte over; ~3 MiB (3 nodes).
    const SIZES = [1, 255, 256, 257, 262_144, 262_145, 3 * 1024 * 1024 + 1000];

    for (const [i, size] of SIZES.entries()) {
      it(`submit: accepts the SDK's submission of a ${size}-byte file, charges what the SDK pays, and the SDK decodes the event`, async function () {
        const f = await loadFixture(deployPricedStorageFixture);
        const file = new MemData(fileBytes(size, i + 1));
        const [tree, treeError] = await file.merkleTree();
        expect(treeError).to.equal(null);
        const [submission, submissionError] = await file.createSubmission("0x", f.alice.address);
        expect(submissionError).to.equal(null);
        const fileRoot = tree!.rootHash()!;
        const nodes: RefNode[] = submission!.data.nodes.map((n) => ({
          root: ethers.hexlify(n.root),
          height: Number(n.height),
        }));

        // The SDK's own contract objects, pointed at our Flow and Market.
        const sdkFlow = getFlowContract(f.flowAddress, f.alice);
        const sdkMarket = getMarketContract(await sdkFlow.market(), f.alice);
        const sdkFee = calculatePrice(submission!, await sdkMarket.pricePerSector());
        expect(sdkFee).to.equal(sectorsOf(nodes.map((n) => n.height)) * PRICE);

        const poolBefore = await f.market.rewardPool();
        const receipt = await (await sdkFlow.submit(submission!, { value: sdkFee })).wait();
        expect(await f.market.rewardPool()).to.equal(poolBefore + sdkFee);

        const sdkInterface = FixedPriceFlow__factory.createInterface();
        const log = receipt!.logs.find(
          (l) => l.address === f.flowAddress && l.topics[0] === sdkInterface.getEvent("Submit").topicHash,
        );
        const parsed = sdkInterface.parseLog(log!);
        expect(parsed?.name).to.equal("Submit");
        expect(parsed!.args.sender).to.equal(f.alice.address);
        expect(parsed!.args.identity).to.equal(digestOf(nodes));
        expect(parsed!.args.submissionIndex).to.equal(0n);
        expect(parsed!.args.startPos).to.equal(new ReferenceLog().submit(nodes).startPos);
        expect(parsed!.args[4]).to.equal(sectorsOf(nodes.map((n) => n.height)));
        expect(parsed!.args.submission[0]).to.equal(BigInt(size));
        expect(parsed!.args.submission.nodes.map((n: { root: string }) => n.root)).to.deep.equal(
          nodes.map((n) => n.root),
        );

        // The SDK's file root is the data root the Flow records.
        expect(await f.flow.dataRootOf(nodes)).to.equal(fileRoot);
        expect(dataRootOf(nodes)).to.equal(fileRoot);
        expect(await f.flow.isSubmitted(fileRoot)).to.equal(true);
        expect((await f.flow.submissionOf(fileRoot)).byteLength).to.equal(BigInt(size));
      });
    }

    it("ABI: the SDK's Flow and Market interfaces match ours for every member the SDK uses", async function () {
      const f = await loadFixture(deployFreeStorageFixture);
      const sdkFlow = FixedPriceFlow__factory.createInterface();
      for (const name of ["submit", "batchSubmit", "market", "numSubmissions", "paused"] as const) {
        expect(f.flow.interface.getFunction(name)!.selector, name).to.equal(
          sdkFlow.getFunction(name).selector,
        );
      }
      expect(f.flow.interface.getEvent("Submit")!.topicHash).to.equal(sdkFlow.getEvent("Submit").topicHash);
      const ours = f.flow.interface.getEvent("Submit")!.inputs.map((p) => [p.name, p.type, p.indexed]);
      const theirs = sdkFlow.getEvent("Submit").inputs.map((p) => [p.name, p.type, p.indexed]);
      expect(ours).to.deep.equal(theirs);
      const sdkMarket = getMarketContract(f.marketAddress, f.alice).interface;
      for (const name of ["pricePerSector", "chargeFee", "setPricePerSector"] as const) {
        expect(f.market.interface.getFunction(name)!.selector, name).to.equal(
          sdkMarket.getFunction(name).selector,
        );
      }
    });

    it("batchSubmit: the SDK's contract object batch-submits SDK files and pays their summed fee", async function () {
      const f = await loadFixture(deployPricedStorageFixture);
      const sdkFlow = getFlowContract(f.flowAddress, f.alice);
      const price = await getMarketContract(await sdkFlow.market(), f.alice).pricePerSector();
      const submissions = [];
      let fee = 0n;
      for (const size of [1000, 70_000, 262_145]) {
        const [submission] = await new MemData(fileBytes(size, size)).createSubmission("0x");
        submissions.push(submission!);
        fee += calculatePrice(submission!, price);
      }
      const tx = sdkFlow.batchSubmit(submissions, { value: fee });
      await expect(tx).to.changeEtherBalances([f.alice, f.market], [-fee, fee]);
      const events = submitEvents(f.flow, await (await tx).wait());
      expect(events.map((e) => e.submissionIndex)).to.deep.equal([0n, 1n, 2n]);
    });

    it("submit: SDK files in sequence land where the reference places them, with the reference root", async function () {
      const f = await loadFixture(deployFreeStorageFixture);
      const reference = new ReferenceLog();
      const sdkFlow = getFlowContract(f.flowAddress, f.alice);
      for (const [i, size] of [...SIZES, 700, 5000, 300_000].entries()) {
        const [submission] = await new MemData(fileBytes(size, 100 + i)).createSubmission("0x");
        const nodes = refNodes(submission!);
        const expected = reference.submit(nodes);
        const receipt = await (await sdkFlow.submit(submission!)).wait();
        const [event] = submitEvents(f.flow, receipt);
        expect(event.startPos).to.equal(expected.startPos, `file ${i} (${size} bytes)`);
        expect(await f.flow.flowRoot()).to.equal(reference.root());
      }
    });

    it("splitNodes: every SDK file size up to 70 segments gives a valid submission (checked off-chain)", async function () {
      // The SDK pads to multiples of nextPow2(sectors)/16 and splits into descending powers of two.
      const file = new MemData(new Uint8Array(0));
      // 71,680 sizes: plain checks in the loop, every broken size reported at the end (an assertion library call
      // per check cost most of this test's time).
      const broken: string[] = [];
      for (let sectors = 1; sectors <= 70 * 1024; sectors++) {
        const heights = sdkHeights(file, sectors);
        const capacity = sectorsOf(heights);
        if (heights[0] - heights[heights.length - 1] >= 4)
          broken.push(`${sectors}: heights ${heights} span 4+`);
        for (let j = 1; j < heights.length; j++)
          if (heights[j] >= heights[j - 1]) broken.push(`${sectors}: heights ${heights} not descending`);
        // 0G's padding bound, for the smallest file of this many sectors.
        const minBytes = BigInt(sectors - 1) * SECTOR_BYTES + 1n;
        const last =
          capacity < 16n
            ? capacity - 1n
            : heights.length === 1
              ? capacity - capacity / 16n
              : capacity - (1n << BigInt(heights[0] - 3));
        if (minBytes <= last * SECTOR_BYTES) broken.push(`${sectors}: over 0G's padding bound`);
      }
      expect(broken).to.deep.equal([]);
    });
  });

  describe("batchSubmit", function () {
    it("batchSubmit: appends in order, returns every result and emits one Submit each", async function () {
      const f = await loadFixture(deployFreeStorageFixture);
      const batch = [submissionOf([2], "b0"), submissionOf([5, 3], "b1"), submissionOf([0], "b2")];
      const reference = new ReferenceLog();
      const placements = batch.map((s) => reference.submit(refNodes(s)));
      const result = await f.flow.connect(f.alice).batchSubmit.staticCall(batch);
      expect(result.indexes).to.deep.equal([0n, 1n, 2n]);
      expect(result.digests).to.deep.equal(batch.map((s) => digestOf(refNodes(s))));
      expect(result.startIndexes).to.deep.equal(placements.map((p) => p.startPos));
      expect(result.lengths).to.deep.equal(placements.map((p) => p.sectors));
      const receipt = await (await f.flow.connect(f.alice).batchSubmit(batch)).wait();
      const events = submitEvents(f.flow, receipt);
      expect(events.map((e) => e.submissionIndex)).to.deep.equal([0n, 1n, 2n]);
      expect(events.map((e) => e.startPos)).to.deep.equal(placements.map((p) => p.startPos));
      expect(await f.flow.flowRoot()).to.equal(reference.root());
    });

    it("batchSubmit: charges the sum of the fees, one FeeCharged each, and returns the excess", async function () {
      const f = await loadFixture(deployPricedStorageFixture);
      const batch = [submissionOf([2], "p0"), submissionOf([4, 1], "p1")];
      const fee = (4n + 18n) * PRICE;
      const tx = f.flow.connect(f.alice).batchSubmit(batch, { value: fee + 99n });
      await expect(tx).to.changeEtherBalances([f.alice, f.market, f.flow], [-fee, fee, 0]);
      await expect(tx)
        .to.emit(f.market, "FeeCharged")
        .withArgs(f.flowAddress, 1, 4, 3, 4n * PRICE);
      await expect(tx)
        .to.emit(f.market, "FeeCharged")
        .withArgs(f.flowAddress, 8, 18, 8, 18n * PRICE);
    });

    it("batchSubmit: msg.value below the total fee reverts FlowInsufficientFee", async function () {
      const f = await loadFixture(deployPricedStorageFixture);
      const batch = [submissionOf([2], "s0"), submissionOf([3], "s1")];
      await expect(f.flow.connect(f.alice).batchSubmit(batch, { value: 12n * PRICE - 1n }))
        .to.be.revertedWithCustomError(f.flow, "FlowInsufficientFee")
        .withArgs(12n * PRICE, 12n * PRICE - 1n);
    });

    it("batchSubmit: one invalid submission reverts the whole batch", async function () {
      const f = await loadFixture(deployFreeStorageFixture);
      const batch = [submissionOf([2], "ok"), withLength([3, 3], 16n * SECTOR_BYTES)];
      await expect(f.flow.connect(f.alice).batchSubmit(batch))
        .to.be.revertedWithCustomError(f.flow, "FlowHeightsNotDecreasing")
        .withArgs(1, 3, 3);
      expect(await f.flow.numSubmissions()).to.equal(0n);
    });

    it("batchSubmit: an empty batch returns empty arrays and the coin sent", async function () {
      const f = await loadFixture(deployPricedStorageFixture);
      const result = await f.flow.connect(f.alice).batchSubmit.staticCall([]);
      expect(result.indexes).to.deep.equal([]);
      await expect(f.flow.connect(f.alice).batchSubmit([], { value: 5n })).to.changeEtherBalances(
        [f.alice, f.flow],
        [0, 0],
      );
    });

    it("batchSubmit: while paused reverts FlowPaused", async function () {
      const f = await loadFixture(deployFreeStorageFixture);
      await f.flow.pause();
      await expect(
        f.flow.connect(f.alice).batchSubmit([submissionOf([1], "paused")]),
      ).to.be.revertedWithCustomError(f.flow, "FlowPaused");
    });
  });

  describe("pause", function () {
    it("pause: by a non-governance account reverts FlowNotGovernance", async function () {
      const f = await loadFixture(deployFreeStorageFixture);
      await expect(f.flow.connect(f.stranger).pause())
        .to.be.revertedWithCustomError(f.flow, "FlowNotGovernance")
        .withArgs(f.stranger.address);
    });

    it("unpause: by a non-governance account reverts FlowNotGovernance", async function () {
      const f = await loadFixture(deployFreeStorageFixture);
      await f.flow.pause();
      await expect(f.flow.connect(f.stranger).unpause())
        .to.be.revertedWithCustomError(f.flow, "FlowNotGovernance")
        .withArgs(f.stranger.address);
    });

    it("pause / unpause: governance stops and resumes submissions, with events", async function () {
      const f = await loadFixture(deployFreeStorageFixture);
      await expect(f.flow.pause()).to.emit(f.flow, "Paused").withArgs(f.governance.address);
      expect(await f.flow.paused()).to.equal(true);
      await expect(f.flow.unpause()).to.emit(f.flow, "Unpaused").withArgs(f.governance.address);
      expect(await f.flow.paused()).to.equal(false);
      await expect(f.flow.connect(f.alice).submit(submissionOf([1], "resumed"))).to.emit(f.flow, "Submit");
    });

    it("pause: twice reverts FlowPaused; unpause when running reverts FlowNotPaused", async function () {
      const f = await loadFixture(deployFreeStorageFixture);
      await expect(f.flow.unpause()).to.be.revertedWithCustomError(f.flow, "FlowNotPaused");
      await f.flow.pause();
      await expect(f.flow.pause()).to.be.revertedWithCustomError(f.flow, "FlowPaused");
    });

    it("pause: governance follows the registry owner", async function () {
      const f = await loadFixture(deployFreeStorageFixture);
      await f.registry.transferOwnership(f.bob.address);
      await f.registry.connect(f.bob).acceptOwnership();
      await expect(f.flow.pause())
        .to.be.revertedWithCustomError(f.flow, "FlowNotGovernance")
        .withArgs(f.governance.address);
      await expect(f.flow.connect(f.bob).pause()).to.emit(f.flow, "Paused");
    });
  });

  describe("syncPrice", function () {
    it("syncPrice: copies a changed Market price and emits PriceSynced; anyone may call", async function () {
      const f = await loadFixture(deployPricedStorageFixture);
      // A Market upgrade could change the price without telling the Flow: simulate it by unregistering the Flow
      // so that setPricePerSector has no Flow to push to.
      await f.registry.removeModule(ethers.encodeBytes32String("Flow"));
      await f.market.setPricePerSector(7n);
      expect(await f.flow.pricePerSector()).to.equal(PRICE);
      await expect(f.flow.connect(f.stranger).syncPrice()).to.emit(f.flow, "PriceSynced").withArgs(7n);
      expect(await f.flow.pricePerSector()).to.equal(7n);
      await expect(f.flow.connect(f.stranger).syncPrice()).not.to.emit(f.flow, "PriceSynced");
    });
  });

  describe("commitRoot", function () {
    it("commitRoot: records the current flow root under the submission count, once", async function () {
      const f = await loadFixture(deployFreeStorageFixture);
      await submitAs(f, f.alice, submissionOf([3], "c0"));
      await submitAs(f, f.alice, submissionOf([1], "c1"));
      const root = await f.flow.flowRoot();
      expect(await f.flow.committedRoot(2)).to.equal(ethers.ZeroHash);
      await expect(f.flow.connect(f.stranger).commitRoot())
        .to.emit(f.flow, "RootCommitted")
        .withArgs(2, await f.flow.flowLength(), root);
      expect(await f.flow.committedRoot(2)).to.equal(root);
      await expect(f.flow.commitRoot()).not.to.emit(f.flow, "RootCommitted");
      await submitAs(f, f.alice, submissionOf([0], "c2"));
      expect(await f.flow.committedRoot(2)).to.equal(root);
      expect(await f.flow.committedRoot(3)).to.equal(ethers.ZeroHash);
    });
  });

  describe("upgrade", function () {
    it("upgradeToAndCall: by a non-governance account reverts FlowNotGovernance", async function () {
      const f = await loadFixture(deployFreeStorageFixture);
      const next = await new Flow__factory(f.governance).deploy(f.marketAddress);
      await expect(f.flow.connect(f.stranger).upgradeToAndCall(await next.getAddress(), "0x"))
        .to.be.revertedWithCustomError(f.flow, "FlowNotGovernance")
        .withArgs(f.stranger.address);
    });

    it("upgradeToAndCall: governance upgrades and the log survives", async function () {
      const f = await loadFixture(deployFreeStorageFixture);
      await submitAs(f, f.alice, submissionOf([4, 2], "keep"));
      const root = await f.flow.flowRoot();
      const next = await new Flow__factory(f.governance).deploy(f.marketAddress);
      await f.flow.upgradeToAndCall(await next.getAddress(), "0x");
      expect(await f.flow.flowRoot()).to.equal(root);
      expect(await f.flow.numSubmissions()).to.equal(1n);
      expect(await f.flow.isSubmitted(dataRootOf(refNodes(submissionOf([4, 2], "keep"))))).to.equal(true);
    });
  });

  describe("properties", function () {
    /** A valid submission: heights below 12 (sometimes up to 16), a valid length, roots from a small pool. */
    const submissionArb = fc
      .record({
        top: fc.oneof(
          { weight: 4, arbitrary: fc.integer({ min: 0, max: 11 }) },
          fc.integer({ min: 12, max: 16 }),
        ),
        lower: fc.subarray([1, 2, 3]),
        lengthFraction: fc.double({ min: 0, max: 1, noNaN: true }),
        rootLabels: fc.array(fc.integer({ min: 0, max: 1 }), { minLength: 4, maxLength: 4 }),
      })
      .map(({ top, lower, lengthFraction, rootLabels }) => {
        const heights = [top, ...lower.map((d) => top - d).filter((h) => h >= 0)];
        const capacity = sectorsOf(heights);
        const last =
          capacity < 16n
            ? capacity - 1n
            : heights.length === 1
              ? capacity - capacity / 16n
              : capacity - (1n << BigInt(top - 3));
        const min = last * SECTOR_BYTES + 1n;
        const max = capacity * SECTOR_BYTES;
        const length = min + BigInt(Math.floor(Number(max - min) * lengthFraction));
        // Small label pool: the same node lists (and data roots) recur, exercising duplicates.
        const label = `${heights.join(".")}:${rootLabels.slice(0, heights.length).join(".")}`;
        return submissionOf(heights, label, length > max ? max : length);
      });

    const opArb = fc.record({
      batch: fc.array(submissionArb, { minLength: 1, maxLength: 3 }),
      asBatch: fc.boolean(),
      extra: fc.constantFrom(0n, 1n, 10n ** 15n),
      // Sometimes resubmit an earlier file instead (index into the files submitted so far).
      repeat: fc.option(fc.nat(), { freq: 5 }),
    });

    it("property: over random valid sequences the Market balance equals the reward pool and the flow root equals the reference", async function () {
      this.timeout(600_000);
      // Over all runs, the interesting cases must have happened: padding, a segment skip, a duplicate root.
      const seen = { padding: 0, segmentSkip: 0, duplicate: 0 };
      await fc.assert(
        fc.asyncProperty(
          fc.boolean(),
          fc.array(opArb, { minLength: 1, maxLength: 6 }),
          async (priced, ops) => {
            const f = await loadFixture(priced ? deployPricedStorageFixture : deployFreeStorageFixture);
            const reference = new ReferenceLog();
            const roots = new Map<string, number>();
            const submitted: SubmissionStruct[] = [];
            let pool = 0n;
            let count = 0;
            for (const op of ops) {
              const repeat = op.repeat !== null && submitted.length > 0;
              const asBatch = op.asBatch && !repeat;
              const submissions = repeat
                ? [submitted[op.repeat! % submitted.length]]
                : asBatch
                  ? op.batch
                  : op.batch.slice(0, 1);
              submitted.push(...submissions);
              const placements = submissions.map((s) => reference.submit(refNodes(s)));
              for (const [i, p] of placements.entries()) {
                const size = 1n << BigInt(refNodes(submissions[i])[0].height);
                const aligned = ((p.before + size - 1n) / size) * size;
                if (p.startPos !== p.before) seen.padding++;
                if (p.startPos !== aligned) seen.segmentSkip++;
              }
              const fee = placements.reduce((sum, p) => sum + p.sectors, 0n) * f.price;
              const flow = f.flow.connect(f.alice);
              const overrides = { value: fee + op.extra, gasLimit: 3_000_000 };
              const tx = asBatch
                ? await flow.batchSubmit(submissions, overrides)
                : await flow.submit(submissions[0], overrides);
              const events = submitEvents(f.flow, await tx.wait());
              pool += fee;
              expect(events.map((e) => e.startPos)).to.deep.equal(placements.map((p) => p.startPos));
              for (const s of submissions) {
                const root = dataRootOf(refNodes(s));
                if (!roots.has(root)) roots.set(root, count);
                else {
                  expect(await f.flow.isDuplicate(count)).to.equal(true);
                  seen.duplicate++;
                }
                count++;
              }
              // Money: the Market holds exactly its pool, the Flow holds nothing.
              const marketBalance = await ethers.provider.getBalance(f.marketAddress);
              expect(marketBalance).to.equal(await f.market.rewardPool());
              expect(marketBalance).to.equal(pool);
              expect(await ethers.provider.getBalance(f.flowAddress)).to.equal(0n);
              // Tree: same length and root as the reference.
              expect(await f.flow.flowLength()).to.equal(reference.length);
              expect(await f.flow.flowRoot()).to.equal(reference.root());
            }
            expect(await f.flow.numSubmissions()).to.equal(BigInt(count));
            for (const [root, first] of roots) {
              expect((await f.flow.submissionOf(root)).firstIndex).to.equal(BigInt(first));
            }
          },
        ),
        { numRuns: NUM_RUNS },
      );
      if (NUM_RUNS >= 50) {
        expect(seen.padding, "submissions after padding").to.be.greaterThan(0);
        expect(seen.segmentSkip, "submissions moved to the next segment").to.be.greaterThan(0);
        expect(seen.duplicate, "duplicate data roots").to.be.greaterThan(0);
      }
    });
  });
});

/** The node heights the SDK would split a file of `sectors` sectors into (its own splitNodes). */
function sdkHeights(file: MemData, sectors: number): number[] {
  const splitter = file as unknown as { numChunks(): number; splitNodes(): number[] };
  splitter.numChunks = () => sectors;
  return splitter.splitNodes().map((chunks) => Math.log2(chunks));
}
