import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { expect } from "chai";
import { servicePort } from "../../offchain/devnet/devnet";

describe("devnet ports", () => {
  it("servicePort: a free port below the kernel's ephemeral range, so nothing else is handed it while a worker restarts", async () => {
    const low = Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]);
    const ports = new Set<number>();
    for (let i = 0; i < 20; i++) {
      const port = await servicePort();
      expect(port).to.be.at.least(10_000);
      expect(port).to.be.below(low);
      ports.add(port);
      // Free: it can be listened on at once.
      await new Promise<void>((resolve, reject) => {
        const server = createServer();
        server.once("error", reject);
        server.listen(port, "127.0.0.1", () => server.close(() => resolve()));
      });
    }
    expect(ports.size).to.be.greaterThan(1);
  });
});
