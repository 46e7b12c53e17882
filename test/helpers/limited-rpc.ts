import { createServer, type Server } from "node:http";

async function head(upstream: string): Promise<number> {
  const answer = await fetch(upstream, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_blockNumber", params: [] }),
  });
  return Number(((await answer.json()) as { result: string }).result);
}

/**
 * An endpoint in front of `upstream` that refuses `eth_getLogs` over more than `maxRange` blocks, as public RPC
 * providers do, with a JSON-RPC error in their words (a missing `fromBlock` is block 0, a tag `toBlock` the head).
 */
export async function limitedRpc(
  upstream: string,
  maxRange: number,
): Promise<{ url: string; refused: number; server: Server }> {
  const state = { url: "", refused: 0, server: undefined as unknown as Server };
  state.server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const body = JSON.parse(Buffer.concat(chunks).toString()) as unknown;
      const calls = (Array.isArray(body) ? body : [body]) as {
        id: number;
        method: string;
        params: unknown[];
      }[];
      void Promise.all(
        calls.map(async (call) => {
          if (call.method === "eth_getLogs") {
            const { fromBlock, toBlock } = call.params[0] as { fromBlock?: string; toBlock?: string };
            const from = fromBlock?.startsWith("0x") ? Number(fromBlock) : 0;
            const to = toBlock?.startsWith("0x") ? Number(toBlock) : await head(upstream);
            if (to - from + 1 > maxRange) {
              state.refused += 1;
              return {
                jsonrpc: "2.0",
                id: call.id,
                error: { code: -32005, message: `query exceeds max block range ${maxRange}` },
              };
            }
          }
          const answer = await fetch(upstream, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify(call),
          });
          return answer.json();
        }),
      ).then((answers) => {
        response.writeHead(200, { "content-type": "application/json" });
        response.end(JSON.stringify(Array.isArray(body) ? answers : answers[0]));
      });
    });
  });
  await new Promise<void>((resolve) => state.server.listen(0, "127.0.0.1", resolve));
  state.url = `http://127.0.0.1:${(state.server.address() as { port: number }).port}`;
  return state;
}
