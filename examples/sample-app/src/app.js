// Wires the form to the offset maths.
import { FITTING_ANGLES, roundFeet, run, travel } from "./offset.js";

const form = document.querySelector("#calc");
const angleSelect = document.querySelector("#angle");
const result = document.querySelector("#result");

for (const angle of FITTING_ANGLES) {
  const option = document.createElement("option");
  option.value = String(angle);
  option.textContent = `${angle}°`;
  angleSelect.append(option);
}
angleSelect.value = "45";

form.addEventListener("submit", (event) => {
  event.preventDefault();
  const offset = Number.parseFloat(document.querySelector("#offset").value);
  const angle = Number.parseFloat(angleSelect.value);
  try {
    result.textContent = `Travel ${roundFeet(travel(offset, angle))} ft · Run ${roundFeet(run(offset, angle))} ft`;
    result.classList.remove("error");
  } catch (error) {
    result.textContent = error.message;
    result.classList.add("error");
  }
});
