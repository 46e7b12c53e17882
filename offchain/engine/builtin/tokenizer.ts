/**
 * The built-in engine's tokenizer: words and single punctuation marks, classified by fixed code-point ranges
 * rather than by the runtime's Unicode tables (which change between Node versions), so every machine cuts the
 * same text into the same tokens.
 *
 * - A word is a run of word characters (ASCII letters, digits and `_`, and every code point from U+0080 that
 *   is not listed below as a space, a mark or an ideograph), which may be joined by `'`, `’`, `-` or `.`
 *   standing between two word characters: `don't`, `ERC-7857`, `0.5` and `docs.0g.ai` are one token each.
 * - A CJK ideograph or kana is a token on its own (those scripts do not separate words with spaces).
 * - Every other code point that is not a space is a token on its own: `.`, `(`, `€`, an emoji.
 * - Spaces and control characters separate tokens and are dropped; a lone UTF-16 surrogate becomes U+FFFD.
 */

const enum CharClass {
  Space,
  Word,
  Ideograph,
  Mark,
}

/** The class of one code point, from fixed ranges only. */
function classify(cp: number): CharClass {
  if (cp < 0x80) {
    if (cp <= 0x20 || cp === 0x7f) return CharClass.Space;
    if (
      (cp >= 0x30 && cp <= 0x39) ||
      (cp >= 0x41 && cp <= 0x5a) ||
      (cp >= 0x61 && cp <= 0x7a) ||
      cp === 0x5f
    ) {
      return CharClass.Word;
    }
    return CharClass.Mark;
  }
  if (cp <= 0xa0) return CharClass.Space; // C1 controls and the no-break space
  if (cp === 0x1680 || (cp >= 0x2000 && cp <= 0x200b) || cp === 0x2028 || cp === 0x2029)
    return CharClass.Space;
  if (cp === 0x202f || cp === 0x205f || cp === 0x3000 || cp === 0xfeff) return CharClass.Space;
  if (cp <= 0xbf) return cp === 0xaa || cp === 0xb5 || cp === 0xba ? CharClass.Word : CharClass.Mark;
  if (cp === 0xd7 || cp === 0xf7) return CharClass.Mark;
  if ((cp >= 0x3040 && cp <= 0x30ff) || (cp >= 0x3400 && cp <= 0x4dbf) || (cp >= 0x4e00 && cp <= 0x9fff)) {
    return CharClass.Ideograph;
  }
  if ((cp >= 0xf900 && cp <= 0xfaff) || (cp >= 0x20000 && cp <= 0x3ffff)) return CharClass.Ideograph;
  if (
    (cp >= 0x2000 && cp <= 0x2bff) || // general punctuation, currency, letterlike, arrows, maths, symbols
    (cp >= 0x3000 && cp <= 0x303f) || // CJK punctuation
    (cp >= 0xd800 && cp <= 0xdfff) || // (lone surrogates, replaced before classification)
    (cp >= 0xfe10 && cp <= 0xfe6f) || // vertical and small forms
    (cp >= 0xff00 && cp <= 0xff0f) ||
    (cp >= 0xff1a && cp <= 0xff20) ||
    (cp >= 0xff3b && cp <= 0xff40) ||
    (cp >= 0xff5b && cp <= 0xff65) || // fullwidth punctuation
    cp === 0xfffd ||
    (cp >= 0x1f000 && cp <= 0x1faff) // emoji and pictographs
  ) {
    return CharClass.Mark;
  }
  return CharClass.Word;
}

/** Characters that join two word characters into one word. */
function isJoiner(cp: number): boolean {
  return cp === 0x27 || cp === 0x2019 || cp === 0x2d || cp === 0x2e;
}

const REPLACEMENT = 0xfffd;

/** The code point at `i` (a lone surrogate reads as U+FFFD) and its length in UTF-16 units. */
function codePointAt(text: string, i: number): [cp: number, units: number] {
  const cp = text.codePointAt(i) as number;
  if (cp >= 0x10000) return [cp, 2];
  if (cp >= 0xd800 && cp <= 0xdfff) return [REPLACEMENT, 1];
  return [cp, 1];
}

/** Cuts text into tokens (see the module comment); no token is empty or contains a space. */
export function tokenize(text: string): string[] {
  const tokens: string[] = [];
  scan(text, (start, end, cp) =>
    tokens.push(cp === undefined ? text.slice(start, end) : String.fromCodePoint(cp)),
  );
  return tokens;
}

/** The number of tokens in text: what the inference oracle bills. */
export function countTokens(text: string): number {
  let count = 0;
  scan(text, () => count++);
  return count;
}

/**
 * Calls `emit` once per token: a word as its range of text, any other token as its single code point (which
 * is how a lone surrogate comes out as U+FFFD).
 */
function scan(text: string, emit: (start: number, end: number, cp?: number) => void): void {
  let i = 0;
  while (i < text.length) {
    const [cp, units] = codePointAt(text, i);
    const kind = classify(cp);
    if (kind === CharClass.Space) {
      i += units;
    } else if (kind !== CharClass.Word) {
      emit(i, i + units, cp);
      i += units;
    } else {
      const start = i;
      i += units;
      for (;;) {
        if (i >= text.length) break;
        const [next, nextUnits] = codePointAt(text, i);
        if (classify(next) === CharClass.Word) {
          i += nextUnits;
          continue;
        }
        if (!isJoiner(next) || i + 1 >= text.length) break;
        const [after] = codePointAt(text, i + 1);
        if (classify(after) !== CharClass.Word) break;
        i += 1;
      }
      emit(start, i, undefined);
    }
  }
}

/** Marks written against the word before them: `end.`, `(a, b)`, `50%`, `agents'`. */
const ATTACH_LEFT = new Set([".", ",", ";", ":", "!", "?", ")", "]", "}", "%", "'", "’", "”", "…", "»"]);
/** Marks written against the word after them: `(a`, `$5`, `#tag`, `@name`. */
const ATTACH_RIGHT = new Set(["(", "[", "{", "$", "#", "@", "“", "‘", "«", "¿", "¡"]);
/** Marks written without a space on either side. */
const ATTACH_BOTH = new Set(["/", "\\", "^", "~", "—"]);

/** The first code point of token is a word character or an ideograph. */
function tokenKind(token: string): CharClass {
  return classify(codePointAt(token, 0)[0]);
}

/**
 * Joins tokens into text with conventional spacing: marks such as `.` and `)` attach to the word before, `(`
 * and `$` to the word after, a straight double quote alternates between opening and closing, and ideographs
 * join without spaces. Tokenizing the result gives the same tokens back.
 */
export function detokenize(tokens: readonly string[]): string {
  let text = "";
  let glueNext = true;
  let quotes = 0;
  let previousIdeograph = false;
  for (const token of tokens) {
    const kind = tokenKind(token);
    const ideograph = kind === CharClass.Ideograph;
    let glueBefore = glueNext;
    let glueAfter = false;
    if (kind === CharClass.Mark) {
      if (token === '"') {
        const opening = quotes % 2 === 0;
        quotes++;
        if (opening) glueAfter = true;
        else glueBefore = true;
      } else if (ATTACH_LEFT.has(token)) {
        glueBefore = true;
      } else if (ATTACH_RIGHT.has(token)) {
        glueAfter = true;
      } else if (ATTACH_BOTH.has(token)) {
        glueBefore = true;
        glueAfter = true;
      }
    }
    if (ideograph && previousIdeograph) glueBefore = true;
    text += glueBefore ? token : ` ${token}`;
    glueNext = glueAfter;
    previousIdeograph = ideograph;
  }
  return text;
}

/** True for the marks that end a sentence. */
export function isSentenceEnd(token: string): boolean {
  return token === "." || token === "!" || token === "?";
}

/** True when the token is a word (not a punctuation mark or symbol). */
export function isWordToken(token: string): boolean {
  const kind = tokenKind(token);
  return kind === CharClass.Word || kind === CharClass.Ideograph;
}

/** ASCII-only lower case (the runtime's full Unicode case mapping can differ between versions). */
export function asciiLower(token: string): string {
  return token.replace(/[A-Z]+/g, (upper) => upper.toLowerCase());
}

/** The token with its first letter upper-cased when that letter is ASCII. */
export function capitalize(token: string): string {
  const first = token.charCodeAt(0);
  return first >= 0x61 && first <= 0x7a ? String.fromCharCode(first - 0x20) + token.slice(1) : token;
}
