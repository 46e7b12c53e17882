import { readFileSync } from "node:fs";
import { expect } from "chai";
import { runnableBlocks } from "../helpers/markdown";

// The blocks themselves run, in order, on the suite's full devnet after its demo (test/trace/devnet.test.ts).
describe("README quickstart", function () {
  it("finds the runnable blocks the quickstart promises", () => {
    const blocks = runnableBlocks(readFileSync("README.md", "utf8"));
    expect(blocks.length).to.be.greaterThanOrEqual(4);
    const all = blocks.join("\n");
    for (const command of [
      "zg storage upload",
      "zg storage download",
      "zg infer",
      "inft mint",
      "zg inft transfer",
    ])
      expect(all).to.include(command);
  });
});
