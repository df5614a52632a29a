import assert from "node:assert/strict";
import { test } from "node:test";
import { FITTING_ANGLES, roundFeet, run, travel } from "../src/offset.js";

test("fitting angles are the four the crew uses", () => {
  assert.deepEqual(FITTING_ANGLES, [11.25, 22.5, 45, 90]);
});

test("45 degree travel is offset times 1.414", () => {
  assert.equal(roundFeet(travel(2, 45)), 2.83);
  assert.equal(roundFeet(run(2, 45)), 2);
});

test("22.5 degree travel is offset times 2.613", () => {
  assert.equal(roundFeet(travel(1, 22.5)), 2.61);
});

test("11.25 degree travel is offset times 5.126", () => {
  assert.equal(roundFeet(travel(1, 11.25)), 5.13);
});

test("90 degree fitting: travel equals offset, no run", () => {
  assert.equal(travel(3.5, 90), 3.5);
  assert.equal(run(3.5, 90), 0);
});

test("bad input is refused with a clear message", () => {
  assert.throws(() => travel(0, 45), /positive number of feet/);
  assert.throws(() => travel(2, 30), /must be one of/);
});
