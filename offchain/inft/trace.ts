import { formatEther, getAddress, ZeroAddress, type Result } from "ethers";
import { IAgentNFT__factory } from "../../typechain-types";
import {
  asIndex,
  known,
  type TraceContext,
  type TraceEventSpec,
  type TraceRef,
  type TraceSource,
} from "../core/trace";
import { serving } from "../serving/module";
import { usageRef } from "../serving/trace";
import { StakingClient } from "../staking/client";
import { inft as manifest } from "./module";

const CONTRACT = manifest.contracts.agentNft.name;
const agent = (args: Result) => [{ kind: "agent", id: String(args.tokenId) }];

const EVENTS: TraceEventSpec[] = [
  {
    contract: CONTRACT,
    event: "Transfer",
    step: "minted",
    // Only mints: later transfers are told by `Transferred`, with the re-encryption.
    about: (a) => (a.from === ZeroAddress ? [{ kind: "agent", id: String(a.tokenId) }] : []),
    summary: (a) => `minted to ${a.to}`,
    actor: (a) => String(a.to),
  },
  {
    contract: CONTRACT,
    event: "Transferred",
    step: "transferred",
    about: agent,
    summary: (a) => `from ${a.from} to ${a.to}, its data re-encrypted for the new owner by the oracle`,
    actor: (a) => String(a.from),
  },
  {
    contract: CONTRACT,
    event: "Cloned",
    step: "cloned",
    about: (a) => [
      { kind: "agent", id: String(a.tokenId) },
      { kind: "agent", id: String(a.newTokenId) },
    ],
    summary: (a) => `token ${a.tokenId} cloned as token ${a.newTokenId} for ${a.to}`,
    actor: (a) => String(a.from),
  },
  {
    contract: CONTRACT,
    event: "PublishedSealedKey",
    step: "key sealed",
    about: agent,
    summary: (a) => `${(a.sealedKeys as unknown[]).length} data key(s) sealed to ${a.to}`,
  },
  {
    contract: CONTRACT,
    event: "Authorization",
    step: "authorized",
    about: agent,
    summary: (a) => `${a.to} may use it (granted by ${a.from})`,
    actor: (a) => String(a.from),
  },
  {
    contract: CONTRACT,
    event: "AuthorizationRevoked",
    step: "revoked",
    about: agent,
    summary: (a) => `${a.to} may no longer use it`,
    actor: (a) => String(a.from),
  },
  {
    contract: CONTRACT,
    event: "Updated",
    step: "data updated",
    about: (a) => [
      ...agent(a),
      ...(a.newDatas as Result[]).map((data) => ({ kind: "root", id: String(data.dataHash).toLowerCase() })),
    ],
    summary: (a) => `${(a.newDatas as unknown[]).length} entr(ies) now, attested by the oracle`,
  },
  {
    contract: CONTRACT,
    event: "MintFeeSet",
    step: "param",
    about: () => [{ kind: "module", id: manifest.name }],
    summary: (a) => `mint fee set to ${formatEther(a.fee)}`,
  },
];

/** Everyone who owned or was authorized to use the agent, from its events. */
function users(tokenId: string, context: TraceContext): string[] {
  const accounts = ["Transfer", "Transferred", "Authorization"].flatMap((event) =>
    context
      .occurrences(CONTRACT, event)
      .filter(({ args }) => String(args.tokenId) === tokenId)
      .map(({ args }) => getAddress(String(args.to))),
  );
  return [...new Set(accounts)];
}

async function agentState(tokenId: string, context: TraceContext) {
  const nft = IAgentNFT__factory.connect(context.address(CONTRACT) as string, context.chain.provider);
  const [owner, datas, authorized] = await Promise.all([
    nft.ownerOf(tokenId),
    nft.intelligentDatasOf(tokenId),
    nft.authorizedUsersOf(tokenId),
  ]);
  return { owner, datas, authorized: [...authorized] };
}

/** AI agents: mint, data roots, transfers and clones with their re-encryption, authorizations, inference paid. */
export const inftTrace: TraceSource = {
  module: manifest.name,
  interfaces: { [CONTRACT]: IAgentNFT__factory.createInterface() },
  events: EVENTS,
  kinds: { agent: "agent token id" },
  async recognise(input, context) {
    return known(context, "agent", asIndex(input));
  },
  async inspect(ref, context) {
    const { owner, datas, authorized } = await agentState(ref.id, context);
    // The agent's inference runs at the oracles (its sealed executor): what its users settled with them.
    const oracles = context.address(serving.contracts.serving.name)
      ? (await (await StakingClient.connect(context.chain)).activeNodes("ORACLE")).map(
          (node) => node.operator,
        )
      : [];
    // What the owner's descriptions name (a dataset's root, a DA payload): linked, but only as the owner's claim.
    const named: TraceRef[] = [];
    for (const data of datas)
      for (const [hash] of data.dataDescription.matchAll(/0x[0-9a-fA-F]{64}/g))
        named.push(...(await context.find(hash)));
    const related: TraceRef[] = [
      ...datas.map((data) => ({ kind: "root", id: data.dataHash.toLowerCase() })),
      ...named,
      ...users(ref.id, context)
        .flatMap((user) => oracles.map((oracle) => usageRef(user, oracle)))
        .filter((usage) => context.eventsAbout(usage).length > 0),
    ];
    return {
      label: `agent ${ref.id}`,
      facts: [
        `owner ${owner}`,
        ...datas.map((data) => `data "${data.dataDescription}": storage root ${data.dataHash}`),
        authorized.length ? `authorized users: ${authorized.join(", ")}` : "no authorized users",
      ],
      unverified: [
        ...named.map(
          (item) =>
            `its data description names ${item.kind} ${item.id}: that the agent was built from it is the owner's word, not something the chain proves`,
        ),
        "the re-encryption itself happens in the oracle (a stand-in for a TEE): the chain holds the oracle's signed proof and the keys it sealed, not the plaintext",
        ...(oracles.length
          ? [
              "inference paid by the agent's users to its oracles is counted whole: the chain does not say which of their requests asked this agent",
            ]
          : []),
      ],
      related,
    };
  },
  async panels(context) {
    const rows = await Promise.all(
      context
        .occurrences(CONTRACT, "Transfer")
        .filter(({ args }) => args.from === ZeroAddress)
        .map(async ({ args }) => {
          const id = String(args.tokenId);
          const { owner, datas, authorized } = await agentState(id, context);
          const transfers = context
            .eventsAbout({ kind: "agent", id })
            .filter((e) => e.step === "transferred");
          return {
            cells: [
              id,
              owner,
              datas.map((data) => `${data.dataDescription}: ${data.dataHash}`).join(" "),
              authorized.join(" ") || "-",
              String(transfers.length),
            ],
            trace: `agent:${id}`,
          };
        }),
    );
    return [{ title: "Agents", columns: ["agent", "owner", "data", "authorized users", "transfers"], rows }];
  },
};
