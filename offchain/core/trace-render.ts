import type { Trace, TraceEvent, TraceNode } from "./trace";

function when(event: TraceEvent): string {
  return new Date(event.time * 1000).toISOString().replace("T", " ").slice(0, 19);
}

function short(value: string): string {
  return /^0x[0-9a-fA-F]{40,}$/.test(value) ? `${value.slice(0, 10)}…` : value;
}

/** A trace as an indented tree: each item, its facts, its events (time, block, step, summary, actor, tx). */
export function traceText(trace: Trace): string {
  const lines: string[] = [`trace of ${trace.input} on chain ${trace.chainId} (up to block ${trace.head})`];
  if (trace.roots.length > 1)
    lines.push(
      `'${trace.input}' names ${trace.roots.length} items: ${trace.roots.map((root) => root.label).join("; ")}`,
    );
  const walk = (node: TraceNode, indent: string) => {
    lines.push(
      `${indent}${node.label}${node.truncated && node.eventCount ? `  (${node.eventCount} events; trace it for more)` : ""}`,
    );
    const inner = `${indent}  `;
    for (const fact of node.facts) lines.push(`${inner}· ${fact}`);
    for (const event of node.events)
      lines.push(
        `${inner}${when(event)}  block ${event.block}  ${event.step.padEnd(14)} ${event.summary}  [by ${short(event.actor)}, tx ${short(event.tx)}]`,
      );
    for (const missing of node.unverified) lines.push(`${inner}! not verified: ${missing}`);
    for (const child of node.children) walk(child, inner);
  };
  for (const root of trace.roots) walk(root, "");
  for (const missing of trace.unverified) lines.push(`! not verified: ${missing}`);
  return lines.join("\n");
}

/** A trace as a Mermaid flowchart: one box per item with its steps, an arrow per link. */
export function traceMermaid(trace: Trace): string {
  const lines = ["flowchart TD"];
  let counter = 0;
  const escape = (text: string) => text.replace(/"/g, "#quot;").replace(/[<>]/g, "");
  const walk = (node: TraceNode): string => {
    const id = `n${counter++}`;
    const steps = node.events.map((e) => `${e.step} @${e.block}`);
    const shown = steps.length > 8 ? [...steps.slice(0, 7), `… ${steps.length - 7} more`] : steps;
    lines.push(`  ${id}["${[node.label, ...node.facts.slice(0, 2), ...shown].map(escape).join("<br/>")}"]`);
    for (const child of node.children) lines.push(`  ${id} --> ${walk(child)}`);
    return id;
  };
  for (const root of trace.roots) walk(root);
  return lines.join("\n");
}
