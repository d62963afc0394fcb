// Form fields built from catalog specs ({default, min, max, type, description}).
import { h } from "./dom.js";

let nextId = 0;
const uid = (name) => `f-${name}-${++nextId}`;

/** Set an input's value unless the user is typing in it. */
export function setQuietly(input, value) {
  if (document.activeElement === input) return;
  if (input.type === "checkbox") input.checked = Boolean(value);
  else input.value = value === null || value === undefined ? "" : String(value);
}

export function field(label, control, help) {
  const id = control.id || (control.id = uid("x"));
  return h("div", { class: "field", title: help || "" }, [h("label", { for: id }, label), control]);
}

export function selectInput(name, options, value, onChange) {
  return h(
    "select",
    { id: uid(name), name, onchange: (e) => onChange(e.target.value) },
    options.map(([v, text]) => h("option", { value: v, selected: String(v) === String(value) }, text)),
  );
}

/** A number box that reports finite values within bounds (empty -> null when `nullable`). */
export function numberInput(name, spec, value, onChange, { nullable = false } = {}) {
  const isInt = spec.type === "int";
  const input = h("input", {
    id: uid(name),
    name,
    type: "number",
    value: value ?? "",
    min: spec.min ?? undefined,
    max: spec.max ?? undefined,
    step: isInt ? 1 : "any",
    placeholder: nullable ? "none" : "",
  });
  input.addEventListener("change", () => {
    const text = input.value.trim();
    if (text === "" && nullable) return onChange(null);
    const v = isInt ? Number.parseInt(text, 10) : Number(text);
    const ok = Number.isFinite(v) && (spec.min == null || v >= spec.min) && (spec.max == null || v <= spec.max);
    input.classList.toggle("invalid", !ok);
    if (ok) onChange(v);
  });
  return input;
}

export function checkInput(name, value, onChange) {
  return h("input", { id: uid(name), name, type: "checkbox", checked: Boolean(value), onchange: (e) => onChange(e.target.checked) });
}

/** A catalog hyperparameter (float / int / bool / pair) as a labelled field. */
export function specField(name, spec, value, onChange) {
  let control;
  if (spec.type === "bool") {
    control = checkInput(name, value ?? spec.default, onChange);
  } else if (spec.type === "pair") {
    const v = value ?? spec.default;
    const parts = [0, 1].map((k) =>
      numberInput(`${name}${k}`, { ...spec, type: "float" }, v[k], (x) => {
        const cur = [Number(parts[0].value), Number(parts[1].value)];
        cur[k] = x;
        onChange(cur);
      }),
    );
    control = h("span", { class: "pair" }, parts);
    control.id = parts[0].id;
  } else {
    control = numberInput(name, spec, value ?? spec.default, onChange);
  }
  control.dataset.param = name;
  return field(name, control, spec.description);
}

/**
 * The learning rate: a log slider from 1e-5 to 10 plus a number box, kept in sync; the box
 * takes any value in the catalog's `bounds` ({min, max}: above min, up to max).
 * Returns {el, set(value)}.
 */
export function logSlider(name, { min = 1e-5, max = 10, bounds, value, onChange }) {
  const lo = Math.log10(min);
  const hi = Math.log10(max);
  const slider = h("input", { id: uid(name), name: `${name}-slider`, type: "range", min: lo, max: hi, step: 0.01, value: Math.log10(value) });
  const box = h("input", { name, type: "number", min: bounds.min ?? 0, max: bounds.max ?? undefined, step: "any", value, class: "lr-box", "aria-label": "learning rate" });
  slider.addEventListener("input", () => {
    box.value = Number((10 ** Number(slider.value)).toPrecision(3));
  });
  slider.addEventListener("change", () => onChange(Number(box.value)));
  box.addEventListener("change", () => {
    const v = Number(box.value);
    const ok = Number.isFinite(v) && v > (bounds.min ?? 0) && (bounds.max == null || v <= bounds.max);
    box.classList.toggle("invalid", !ok);
    if (!ok) return;
    slider.value = Math.min(hi, Math.max(lo, Math.log10(v)));
    onChange(v);
  });
  return {
    el: h("div", { class: "field lr" }, [h("label", { for: slider.id }, "learning rate"), h("div", { class: "row" }, [slider, box])]),
    set(v) {
      if (document.activeElement === box || document.activeElement === slider) return;
      box.value = v;
      slider.value = Math.min(hi, Math.max(lo, Math.log10(v)));
    },
  };
}
