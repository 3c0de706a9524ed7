import { describe, expect, it } from "vitest";
import { mergeRunInput, packJson, unpackJson } from "../../src/store/db/packed-json.js";
import type { JsonValue } from "../../src/engine/model.js";

const words = "lorem ipsum dolor sit amet ".repeat(20);

describe("packJson", () => {
  it("packs an object's text with its keys in jsonb's order (byte length, then UTF-8 bytes), at every depth", () => {
    const value: JsonValue = {
      zz: 1,
      b: { y: 1, x: [{ d: 1, c: 2 }] },
      a: null,
      "10": true,
      "9": 0.5,
      "\uffff": "three bytes",
      "\u{1f600}": "four bytes",
      é: "two bytes",
      note: words,
    };
    const packed = packJson(value)!;
    const back = unpackJson(Buffer.from(packed, "base64")) as Record<string, JsonValue>;
    // As JSON.parse of jsonb's text enumerates them: integer-like keys first (JavaScript's rule), then jsonb's order.
    expect(Object.keys(back)).toEqual(["9", "10", "a", "b", "zz", "é", "\uffff", "note", "\u{1f600}"]);
    expect(JSON.stringify(back.b)).toBe('{"x":[{"c":2,"d":1}],"y":1}');
    expect(unpackJson(Buffer.from(packed, "base64"))).toEqual(value);
    expect(unpackJson(new Uint8Array(Buffer.from(packed, "base64")))).toEqual(value);
  });

  it("leaves alone what would not pay: scalars, small or large texts, texts that do not shrink", () => {
    expect(packJson(undefined)).toBeUndefined();
    expect(packJson(words)).toBeUndefined();
    expect(packJson({ a: 1 })).toBeUndefined();
    expect(packJson({ a: words.repeat(10) })).toBeUndefined();
    let seed = 1;
    const noise = Array.from({ length: 600 }, () => {
      seed = (seed * 16807) % 2147483647;
      return String.fromCharCode(32 + (seed % 95));
    }).join("");
    expect(packJson({ noise })).toBeUndefined();
    expect(packJson({ words })).toBeDefined();
  });
});

describe("mergeRunInput", () => {
  it("puts the run input back as jsonb's || would, input before steps", () => {
    expect(JSON.stringify(mergeRunInput({ steps: { a: 1 } }, { n: 1 }))).toBe('{"input":{"n":1},"steps":{"a":1}}');
  });
});
