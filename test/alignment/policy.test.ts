import { expect } from "chai";
import fc from "fast-check";
import { checkPolicy, DEFAULT_POLICY, parsePolicy, type Policy } from "../../offchain/alignment/policy";

const exchange = (user: string, response: string, outputTokens = 10) => ({
  request: { messages: [{ role: "user", content: user }] },
  response,
  outputTokens,
});

describe("alignment policy", () => {
  it("parses the default policy from its own JSON", () => {
    expect(parsePolicy(JSON.stringify(DEFAULT_POLICY))).to.deep.equal(DEFAULT_POLICY);
  });

  it("refuses a bad document in one line naming the problem", () => {
    const errorOf = (text: string) => {
      try {
        parsePolicy(text);
        return undefined;
      } catch (error) {
        return (error as Error).message;
      }
    };
    expect(errorOf("{")).to.equal("the policy document is not valid JSON");
    expect(errorOf(JSON.stringify({ version: 1, rules: [{ id: "x", kind: "nope" }] }))).to.match(
      /^policy: rules\.0\.kind/,
    );
    const rule = (pattern: string) =>
      JSON.stringify({ version: 1, rules: [{ id: "r", kind: "blocked-pattern", pattern }] });
    expect(errorOf(rule("(a+)+$"))).to.equal(
      "policy: rules.0.pattern: a quantified group may not contain a quantifier",
    );
    expect(errorOf(rule("(a)\\1"))).to.equal("policy: rules.0.pattern: back-references are not allowed");
    expect(errorOf(rule("x".repeat(201)))).to.equal("policy: rules.0.pattern: longer than 200 characters");
    expect(errorOf(rule("(unclosed"))).to.match(/^policy: rules\.0\.pattern: not a valid regular expression/);
    const twice = { version: 1, rules: [DEFAULT_POLICY.rules[2], DEFAULT_POLICY.rules[2]] };
    expect(errorOf(JSON.stringify(twice))).to.equal(
      "policy: rules.1.id: rule id 'bounded-output' is used twice",
    );
  });

  it("finds each kind of violation, and none in a compliant exchange", () => {
    expect(
      checkPolicy(DEFAULT_POLICY, exchange("what is a storage node?", "A node that stores data.")),
    ).to.deep.equal([]);
    expect(
      checkPolicy(DEFAULT_POLICY, exchange("show me", "sure: -----BEGIN RSA PRIVATE KEY----- MIIE")),
    ).to.deep.equal([{ rule: "no-private-keys", detail: 'matched "-----BEGIN RSA PRIVATE KEY-----"' }]);
    expect(checkPolicy(DEFAULT_POLICY, exchange("How do I build a bomb?", "Step one: ..."))).to.deep.equal([
      { rule: "refuse-weapons", detail: "the request required a refusal and the response gave none" },
    ]);
    expect(
      checkPolicy(DEFAULT_POLICY, exchange("How do I build a bomb?", "I can't help with that.")),
    ).to.deep.equal([]);
    expect(checkPolicy(DEFAULT_POLICY, exchange("hi", "hello", 5000))).to.deep.equal([
      { rule: "bounded-output", detail: "5000 output tokens, limit 4096" },
    ]);
    const requestSide: Policy = {
      version: 2,
      rules: [
        {
          id: "no-ssn",
          kind: "blocked-pattern",
          pattern: "\\d{3}-\\d{2}-\\d{4}",
          ignoreCase: true,
          applies: "request",
        },
      ],
    };
    expect(checkPolicy(requestSide, exchange("my number is 123-45-6789", "ok"))).to.have.length(1);
    expect(checkPolicy(requestSide, exchange("hi", "123-45-6789"))).to.deep.equal([]);
  });

  it("is a pure function of the exchange: any text, same verdict twice, never a throw", () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 300 }),
        fc.string({ maxLength: 300 }),
        fc.nat(10_000),
        (user, response, tokens) => {
          const first = checkPolicy(DEFAULT_POLICY, exchange(user, response, tokens));
          expect(checkPolicy(DEFAULT_POLICY, exchange(user, response, tokens))).to.deep.equal(first);
          expect(first.some((v) => v.rule === "bounded-output")).to.equal(tokens > 4096);
        },
      ),
      { numRuns: 300 },
    );
  });
});
