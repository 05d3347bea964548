/**
 * The reader's input bounds, shared by the lexer and the tree builder (issue 15 item 9): each
 * ends in one positioned error, in bounded time and memory.
 * Real configurations are far below them (keepalived's own lines are at most 1024 bytes).
 */
export const LIMITS = {
  /** Lines read in total, source and generated (`~SEQ`, multi-line definitions) together. */
  lines: 200_000,
  /** Characters read in total (every line, as written and as expanded): `~SEQ` of long lines stops here. */
  chars: 16 * 1024 * 1024,
  /** Words produced in total. */
  tokens: 500_000,
  /** Characters one line may have, as written or after its definitions are replaced. */
  lineLength: 65_536,
  /** Bytes one file may have (the main file or an included one). */
  fileBytes: 16 * 1024 * 1024,
  /** Files opened through `include`, in total. */
  files: 1_000,
  /** `include` nesting. */
  includeDepth: 16,
  /** `{ }` nesting (keepalived's deepest is 4: virtual_server / real_server / HTTP_GET / url). */
  blockDepth: 32,
} as const;
