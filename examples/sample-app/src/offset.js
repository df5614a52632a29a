// Rolling-offset maths for pipe fittings. Lengths in decimal feet.

export const FITTING_ANGLES = [11.25, 22.5, 45, 90];

const toRadians = (degrees) => (degrees * Math.PI) / 180;

// Travel: the centre-to-centre length of pipe between two fittings that make an offset.
export function travel(offset, angle) {
  check(offset, angle);
  if (angle === 90) return offset;
  return offset / Math.sin(toRadians(angle));
}

// Run: how far along the line the offset takes.
export function run(offset, angle) {
  check(offset, angle);
  if (angle === 90) return 0;
  return offset / Math.tan(toRadians(angle));
}

export function roundFeet(value) {
  return Math.round(value * 100) / 100;
}

function check(offset, angle) {
  if (!Number.isFinite(offset) || offset <= 0) {
    throw new RangeError("Offset must be a positive number of feet");
  }
  if (!FITTING_ANGLES.includes(angle)) {
    throw new RangeError(`Fitting angle must be one of ${FITTING_ANGLES.join(", ")}`);
  }
}
