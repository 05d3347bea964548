/** Tokens → statements and `{ }` blocks, with positioned errors for unbalanced braces and a depth bound. */
import type { Diagnostic } from './diagnostics.js';
import type { Token } from './lexer.js';
import { LIMITS } from './limits.js';

/** A statement: keyword, its arguments on the same line, and a `{ }` block if one follows. */
export interface Node {
  key: Token;
  args: Token[];
  children?: Node[];
  close?: Token;
}

/** Groups tokens into statements (one per line) and blocks. Unbalanced braces are reported. */
export function tree(tokens: Token[], diags: Diagnostic[]): Node[] {
  let i = 0;
  const block = (depth: number): Node[] => {
    const nodes: Node[] = [];
    while (i < tokens.length) {
      const t = tokens[i]!;
      if (t.text === '}' && !t.quoted) {
        if (depth === 0) {
          diags.push({
            severity: 'error',
            file: t.file,
            line: t.line,
            col: t.col,
            code: 'CONFIG_SYNTAX',
            message: "unexpected '}' with no open block",
            hint: "remove it, or look for a missing '{' above",
          });
          i++;
          continue;
        }
        return nodes;
      }
      if (t.text === '{' && !t.quoted) {
        diags.push({
          severity: 'error',
          file: t.file,
          line: t.line,
          col: t.col,
          code: 'CONFIG_SYNTAX',
          message: "'{' without a keyword before it",
        });
        i++;
        continue;
      }
      const node: Node = { key: t, args: [] };
      i++;
      while (
        i < tokens.length &&
        tokens[i]!.stmt === t.stmt &&
        !(['{', '}'].includes(tokens[i]!.text) && !tokens[i]!.quoted)
      )
        node.args.push(tokens[i++]!);
      if (i < tokens.length && tokens[i]!.text === '{' && !tokens[i]!.quoted) {
        const open = tokens[i]!;
        i++;
        if (depth + 1 > LIMITS.blockDepth) {
          tooDeep(open);
          continue;
        }
        node.children = block(depth + 1);
        if (i < tokens.length) {
          node.close = tokens[i];
          i++;
        } else
          diags.push({
            severity: 'error',
            file: open.file,
            line: open.line,
            col: open.col,
            keyword: t.text,
            code: 'CONFIG_SYNTAX',
            message: `block '${t.text}' is never closed`,
            hint: "add the missing '}'",
          });
      }
      nodes.push(node);
    }
    return nodes;
  };
  /** Skips a block nested too deeply, to its matching '}', without recursing. */
  const tooDeep = (open: Token): void => {
    diags.push({
      severity: 'error',
      file: open.file,
      line: open.line,
      col: open.col,
      code: 'CONFIG_LIMIT',
      message: `blocks nested more than ${LIMITS.blockDepth} deep; this block is skipped`,
    });
    for (let level = 1; i < tokens.length && level > 0; i++) {
      const t = tokens[i]!;
      if (!t.quoted && t.text === '{') level++;
      else if (!t.quoted && t.text === '}') level--;
    }
  };
  return block(0);
}
