/** The shell blocks of a markdown document marked `<!-- runnable -->`, in order (README, docs/tutorial.md). */
export function runnableBlocks(markdown: string): string[] {
  const blocks: string[] = [];
  const pattern = /<!-- runnable -->\s*```sh\n([\s\S]*?)```/g;
  for (let match = pattern.exec(markdown); match; match = pattern.exec(markdown)) blocks.push(match[1]);
  return blocks;
}
