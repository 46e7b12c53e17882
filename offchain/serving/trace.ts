import { formatEther, getAddress, type Result } from "ethers";
import { IInferenceServing__factory, IServingLedger__factory } from "../../typechain-types";
import {
  asAddress,
  type TraceContext,
  type TraceEventSpec,
  type TraceRef,
  type TraceSource,
} from "../core/trace";
import { REJECTIONS, ServingClient } from "./client";
import { serving as manifest } from "./module";

const { serving, ledger } = manifest.contracts;
const params = () => [{ kind: "module", id: manifest.name }];

/** A user's payments to one provider: `usage:<user>:<provider>`. */
export function usageRef(user: string, provider: string): TraceRef {
  return { kind: "usage", id: `${getAddress(user)}:${getAddress(provider)}` };
}

const provider = (args: Result) => [
  { kind: "provider", id: String(args.provider) },
  { kind: "operator", id: String(args.provider) },
];
const usage = (args: Result) => [usageRef(String(args.user), String(args.provider))];
const terms = (a: Result) =>
  `${a.params.model} at ${a.params.url}, ${a.params.inputPrice}/${a.params.outputPrice} wei per input/output token${a.params.deterministic ? ", deterministic" : ""}`;

const EVENTS: TraceEventSpec[] = [
  {
    contract: serving.name,
    event: "ServiceRegistered",
    step: "service",
    about: provider,
    summary: (a) => `registered ${terms(a)}`,
    actor: (a) => String(a.provider),
  },
  {
    contract: serving.name,
    event: "ServiceUpdated",
    step: "service",
    about: provider,
    summary: (a) => `updated to ${terms(a)}`,
    actor: (a) => String(a.provider),
  },
  {
    contract: serving.name,
    event: "ServiceRemoved",
    step: "service",
    about: provider,
    summary: () => "removed its service",
    actor: (a) => String(a.provider),
  },
  {
    contract: serving.name,
    event: "VoucherSettled",
    step: "settled",
    about: (a) => [...usage(a), { kind: "provider", id: String(a.provider) }],
    summary: (a) =>
      `inference of ${a.user} settled to ${a.provider}: ${formatEther(a.paid)} paid (cumulative ${formatEther(a.amount)}, voucher ${a.nonce})`,
    actor: (a) => String(a.provider),
  },
  {
    contract: serving.name,
    event: "VoucherRejected",
    step: "rejected",
    about: (a) => [...usage(a), { kind: "provider", id: String(a.provider) }],
    summary: (a) => `voucher ${a.nonce} of ${a.user} rejected: ${REJECTIONS[Number(a.reason)] ?? a.reason}`,
    actor: (a) => String(a.provider),
  },
  {
    contract: ledger.name,
    event: "Funded",
    step: "funded",
    about: usage,
    summary: (a) => `${a.user} funded its account at ${a.provider}`,
    actor: (a) => String(a.user),
  },
  {
    contract: ledger.name,
    event: "RefundRequested",
    step: "refund asked",
    about: usage,
    summary: (a) => `${formatEther(a.amount)}, unlocked at ${a.unlockAt}`,
    actor: (a) => String(a.user),
  },
  {
    contract: ledger.name,
    event: "LockTimeSet",
    step: "param",
    about: params,
    summary: (a) => `refund lock time set to ${a.lockTime} s`,
  },
  {
    contract: ledger.name,
    event: "AlignmentShareSet",
    step: "param",
    about: params,
    summary: (a) => `alignment share of serving fees set to ${a.bps} bps`,
  },
];

const RECEIPTS_PRIVATE =
  "which requests each settled voucher covered (model, prompt, signed response) is in the provider's receipts, served only to the paying user and to ALIGNMENT auditors: the trace counts what was settled on-chain";

function settledTotal(ref: TraceRef, context: TraceContext): bigint {
  return context
    .occurrences(serving.name, "VoucherSettled")
    .filter(({ args }) =>
      ref.kind === "provider" ? args.provider === ref.id : `${args.user}:${args.provider}` === ref.id,
    )
    .reduce((sum, { args }) => sum + BigInt(args.paid as bigint), 0n);
}

/** Services and what users paid them: registrations, prices, settled vouchers, ledger funding. */
export const servingTrace: TraceSource = {
  module: manifest.name,
  interfaces: {
    [serving.name]: IInferenceServing__factory.createInterface(),
    [ledger.name]: IServingLedger__factory.createInterface(),
  },
  events: EVENTS,
  kinds: { provider: "provider address", usage: "user's payments to a provider (<user>:<provider>)" },
  async recognise(input, context) {
    const pair = /^(0x[0-9a-fA-F]{40}):(0x[0-9a-fA-F]{40})$/.exec(input);
    const refs: TraceRef[] = pair ? [usageRef(pair[1], pair[2])] : [];
    const address = asAddress(input);
    if (address) refs.push({ kind: "provider", id: address });
    return refs.filter((ref) => context.eventsAbout(ref).length > 0);
  },
  async inspect(ref, context) {
    if (ref.kind === "usage") {
      const [user, provider] = ref.id.split(":");
      return {
        label: `payments of ${user} to provider ${provider}`,
        facts: [`settled ${formatEther(settledTotal(ref, context))} in total`],
        unverified: [RECEIPTS_PRIVATE],
      };
    }
    const client = await ServingClient.connect(context.chain);
    const registered = await client.serving.isRegistered(ref.id);
    const service = registered ? await client.service(ref.id) : undefined;
    return {
      label: `provider ${ref.id}`,
      facts: [
        service
          ? `serves ${service.model} at ${service.url}, ${service.inputPrice}/${service.outputPrice} wei per input/output token`
          : "no service registered now",
        `settled ${formatEther(settledTotal(ref, context))} in total`,
      ],
      unverified: [RECEIPTS_PRIVATE],
    };
  },
  async panels(context) {
    const client = await ServingClient.connect(context.chain);
    const rows = (await client.services()).map((service) => {
      const ref = { kind: "provider", id: service.provider };
      const users = new Set(
        context
          .occurrences(serving.name, "VoucherSettled")
          .filter(({ args }) => args.provider === service.provider)
          .map(({ args }) => String(args.user)),
      );
      return {
        cells: [
          service.provider,
          service.model,
          `${service.inputPrice} / ${service.outputPrice}`,
          service.region || "-",
          formatEther(settledTotal(ref, context)),
          String(users.size),
        ],
        trace: `provider:${service.provider}`,
      };
    });
    return [
      {
        title: "Services",
        columns: ["provider", "model", "wei per input / output token", "region", "settled", "paying users"],
        rows,
      },
    ];
  },
};
